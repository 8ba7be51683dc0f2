// `berth validate FILE...`: checks every file, prints every problem as
// FILE:LINE:COL: PATH: MESSAGE, then one summary line.
import { extname } from 'node:path';
import { checkParsed, formatProblem, loadManifest, type Problem } from '../manifest/index.js';
import { formatOf, MAX_MANIFEST_BYTES, type Parsed, parseText } from '../manifest/parse.js';
import { readTextFile } from '../manifest/read-text.js';
import { parseArgs, UsageError } from './args.js';

export async function validateCommand(args: string[], out: { write(text: string): unknown } = process.stdout): Promise<number> {
  const files = parseArgs(args, []).positionals;
  if (files.length === 0) throw new UsageError('name at least one file to check');
  let problems = 0;
  let badFiles = 0;
  for (const file of files) {
    const found = await checkFile(file);
    for (const problem of found) out.write(`${formatProblem(problem)}\n`);
    problems += found.length;
    if (found.length) badFiles++;
  }
  out.write(`${summary(problems, badFiles, files.length)}\n`);
  return problems ? 1 : 0;
}

/** The one place that decides how a file is checked: a manifest, or an image definition. */
async function checkFile(file: string): Promise<Problem[]> {
  const text = extname(file).toLowerCase() === '.json' ? undefined : readText(file);
  // A YAML file is parsed once, for both questions: what kind of file it is, and what is wrong with it.
  const yaml = text !== undefined && formatOf(file, text) === 'yaml' ? parseText(text, 'yaml') : undefined;
  if (text !== undefined && await isImageDefinition(file, text, yaml)) {
    const { evaluateImage } = await import('../image/evaluate.js');
    const { problems, warnings } = evaluateImage(file);
    for (const w of warnings) process.stderr.write(`${formatProblem({ ...w, message: `warning: ${w.message}` })}\n`);
    return problems;
  }
  if (yaml) return checkParsed(yaml, file).problems;
  // strict: validation can afford the extra pass that catches duplicate JSON keys.
  return (await loadManifest(file, { strict: true })).problems;
}

/**
 * The file's text, or undefined: a file that cannot be read is a manifest
 * problem, reported there. Never a blocking open or an unbounded read.
 */
function readText(file: string): string | undefined {
  const read = readTextFile(file, { what: 'manifest', maxBytes: MAX_MANIFEST_BYTES });
  return 'text' in read ? read.text : undefined;
}

/** The top-level keys only image definitions have (modules included), read off the two schemas so a new option counts at once. */
async function imageOnlyKeys(): Promise<Set<string>> {
  const [{ imageSchema }, { manifestSchema }] = await Promise.all([import('../image/options.js'), import('../manifest/schema.js')]);
  const fieldsOf = (node: { kind: string; fields?: Record<string, unknown> }): string[] => Object.keys(node.kind === 'object' ? node.fields! : {});
  const shared = new Set(fieldsOf(manifestSchema.node));
  return new Set(fieldsOf(imageSchema.node).filter((k) => !shared.has(k)));
}

/**
 * A YAML file without `version` whose top level names an image option is an
 * image definition; everything else (JSON, unreadable, a bare `services:`) is
 * checked as a manifest, which explains what is missing. `yaml` is the
 * manifest parse of `text`, when the file is read as YAML.
 */
async function isImageDefinition(file: string, text: string, yaml: Parsed | undefined): Promise<boolean> {
  const imageKeys = await imageOnlyKeys();
  const value = await yamlValue(text, yaml);
  if (value === null) return /\.ya?ml$/i.test(file) && /(^|\/)image\.ya?ml$/i.test(file);
  if (typeof value !== 'object' || Array.isArray(value) || value === undefined) {
    // A syntax error: decide by the keys written at the start of lines.
    const keys = [...text.matchAll(/^([A-Za-z]+):/gm)].map((m) => m[1]);
    return !keys.includes('version') && keys.some((k) => imageKeys.has(k));
  }
  const keys = Object.keys(value as object);
  if (keys.includes('version')) return false;
  return keys.some((k) => imageKeys.has(k));
}

/** `text`'s value as YAML, or undefined where it has errors or building it fails (too many aliases). */
async function yamlValue(text: string, yaml: Parsed | undefined): Promise<unknown> {
  // The manifest parse has it, except for a blank file, which parseText refuses before parsing.
  if (yaml && text.trim() !== '') return yaml.ok ? yaml.value : undefined;
  const { MAX_ALIAS_COUNT, parseYamlDocument } = await import('../manifest/locate.js');
  const { doc } = parseYamlDocument(text);
  return doc.errors.length ? undefined : topLevel(doc, MAX_ALIAS_COUNT);
}

/** The document's value, or undefined where building it fails (too many aliases): then the keys decide. */
function topLevel(doc: { toJS(options: { maxAliasCount: number }): unknown }, maxAliasCount: number): unknown {
  try {
    return doc.toJS({ maxAliasCount });
  } catch {
    return undefined;
  }
}

function summary(problems: number, badFiles: number, files: number): string {
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  if (problems === 0) return `${plural(files, 'file')} OK`;
  return `${plural(problems, 'problem')} in ${badFiles} of ${plural(files, 'file')}`;
}
