// `berth validate FILE...`: checks every file, prints every problem as
// FILE:LINE:COL: PATH: MESSAGE, then one summary line.
import { extname } from 'node:path';
import { formatProblem, loadManifest, type Problem } from '../manifest/index.js';
import { MAX_MANIFEST_BYTES } from '../manifest/parse.js';
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
  if (await isImageDefinition(file)) {
    const { evaluateImage } = await import('../image/evaluate.js');
    const { problems, warnings } = evaluateImage(file);
    for (const w of warnings) process.stderr.write(`${formatProblem({ ...w, message: `warning: ${w.message}` })}\n`);
    return problems;
  }
  // strict: validation can afford the extra pass that catches duplicate JSON keys.
  return (await loadManifest(file, { strict: true })).problems;
}

/** Keys only image definitions have; a file with `version:` is a manifest. */
const IMAGE_KEYS = ['imports', 'image', 'systemd', 'users', 'environment', 'packages', 'assertions', 'warnings'];

/**
 * A YAML file without `version` whose top level names an image option is an
 * image definition; everything else (JSON, unreadable, a bare `services:`) is
 * checked as a manifest, which explains what is missing.
 */
async function isImageDefinition(file: string): Promise<boolean> {
  if (extname(file).toLowerCase() === '.json') return false;
  // Never a blocking open or an unbounded read: a file that cannot be read is a manifest problem, reported there.
  const read = readTextFile(file, { what: 'manifest', maxBytes: MAX_MANIFEST_BYTES });
  if (!('text' in read)) return false;
  const text = read.text;
  const { MAX_ALIAS_COUNT, parseYamlDocument } = await import('../manifest/locate.js');
  const { modules } = await import('../image/modules/index.js');
  const { doc } = parseYamlDocument(text);
  const value: unknown = doc.errors.length ? undefined : topLevel(doc, MAX_ALIAS_COUNT);
  if (value === null) return /\.ya?ml$/i.test(file) && /(^|\/)image\.ya?ml$/i.test(file);
  if (typeof value !== 'object' || Array.isArray(value) || value === undefined) {
    // A syntax error: decide by the keys written at the start of lines.
    const keys = [...text.matchAll(/^([A-Za-z]+):/gm)].map((m) => m[1]);
    return !keys.includes('version') && keys.some((k) => IMAGE_KEYS.includes(k) || modules.some((m) => m.name === k));
  }
  const keys = Object.keys(value as object);
  if (keys.includes('version')) return false;
  return keys.some((k) => IMAGE_KEYS.includes(k) || modules.some((m) => m.name === k));
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
