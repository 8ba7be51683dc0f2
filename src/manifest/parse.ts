// Reads a manifest file into a plain value plus a way to locate paths in it.
// JSON takes the fast path (JSON.parse, no YAML parser loaded) because PID 1
// reads the JSON manifest at every container start; YAML and problem
// locating load the YAML parser lazily.
import { extname } from 'node:path';
import { jsonRepeatsKeys } from './duplicate-keys.js';
import { jsonErrorOffset, tokenAt } from './json-error.js';
import { jsonTooDeepAt, TOO_DEEP } from './nesting.js';
import { readTextFile } from './read-text.js';
import { type Locate, MAX_ALIAS_COUNT, type Position, START, documentLocator, parseYamlDocument, positionAt, sourceLocator } from './locate.js';

/** A problem found before the value exists: the file as a whole, or its syntax. */
export interface FileProblem extends Position { message: string }

export type Parsed =
  | {
    ok: true;
    value: unknown;
    locate: Locate;
    /**
     * JSON only: where the text nests deeper than MAX_NESTING. JSON.parse
     * itself is safe at any depth, and scanning for it costs PID 1 more than
     * JSON.parse on a big manifest, so it runs only once there are problems:
     * nesting that deep never validates (no manifest field holds free-form data).
     */
    tooDeep?: () => FileProblem | undefined;
  }
  | { ok: false; problems: FileProblem[] };

/** Far beyond any real manifest (10,000 services take about 1 MiB); above it the file is surely the wrong one. */
export const MAX_MANIFEST_BYTES = 16 * 2 ** 20;

export interface ParseOptions {
  /**
   * Also catch duplicate JSON keys, which JSON.parse silently merges: a JSON
   * text that repeats a key goes through the YAML parser, which says where.
   */
  strict?: boolean;
}

export async function parseFile(file: string, options: ParseOptions = {}): Promise<Parsed> {
  const read = readTextFile(file, { what: 'manifest', maxBytes: MAX_MANIFEST_BYTES });
  if ('problem' in read) return { ok: false, problems: [{ ...(read.at ?? START), message: read.problem }] };
  return parseText(read.text, formatOf(file, read.text), options);
}

export function parseText(text: string, format: 'json' | 'yaml', options: ParseOptions = {}): Parsed {
  if (text.trim() === '') {
    return { ok: false, problems: [{ ...START, message: "the file is empty; a manifest needs at least 'version: 1' and 'services'" }] };
  }
  return format === 'json' ? parseJson(text, options) : parseYaml(text);
}

/** `.json` is JSON and `.yaml`/`.yml` YAML; anything else is JSON when it looks like a JSON object. */
export function formatOf(file: string, text: string): 'json' | 'yaml' {
  const ext = extname(file).toLowerCase();
  if (ext === '.json') return 'json';
  if (ext === '.yaml' || ext === '.yml') return 'yaml';
  return text.trimStart().startsWith('{') && isJson(text) ? 'json' : 'yaml';
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function parseJson(text: string, options: ParseOptions): Parsed {
  const tooDeep = (): FileProblem | undefined => {
    const at = jsonTooDeepAt(text);
    return at < 0 ? undefined : { ...positionAt(text, at), message: TOO_DEEP };
  };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    // Before jsonErrorOffset, which recurses.
    return { ok: false, problems: [tooDeep() ?? jsonSyntaxProblem(text, (error as Error).message)] };
  }
  if (options.strict && jsonRepeatsKeys(text, value)) {
    const { doc, position } = parseYamlDocument(text);
    const duplicates = doc.errors.filter((e) => e.code === 'DUPLICATE_KEY');
    if (duplicates.length) return { ok: false, problems: duplicates.map((e) => duplicateKey(text, e.pos[0], position)) };
  }
  return { ok: true, value, locate: sourceLocator(text), tooDeep };
}

/** Uses V8's message when it says where; otherwise finds the spot itself. */
function jsonSyntaxProblem(text: string, raw: string): FileProblem {
  const at = /at position (\d+)/.exec(raw);
  if (at) return { ...positionAt(text, Number(at[1])), message: `invalid JSON: ${raw.replace(/ in JSON at position \d+.*$/s, '')}` };
  const offset = jsonErrorOffset(text);
  return { ...positionAt(text, offset), message: `invalid JSON: unexpected ${tokenAt(text, offset)}` };
}

function parseYaml(text: string): Parsed {
  const { doc, position } = parseYamlDocument(text);
  if (doc.errors.length) {
    return {
      ok: false,
      problems: doc.errors.map((e) => e.code === 'DUPLICATE_KEY' ? duplicateKey(text, e.pos[0], position)
        : { ...position(e.pos[0]), message: yamlMessage(e.code, e.message) }),
    };
  }
  try {
    return { ok: true, value: doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }), locate: documentLocator(doc, position) };
  } catch (error) {
    // Unresolvable aliases and alias bombs surface only when building the value.
    return { ok: false, problems: [{ ...START, message: `invalid YAML: ${(error as Error).message}` }] };
  }
}

function yamlMessage(code: string, message: string): string {
  if (code === 'MULTIPLE_DOCS') return "invalid YAML: a manifest is a single document; remove the '---' separator";
  if (message === TOO_DEEP) return message; // valid YAML, just beyond Berth's limit
  return `invalid YAML: ${message}`;
}

function duplicateKey(text: string, offset: number, position: (offset: number) => Position): FileProblem {
  const key = /^"(?:[^"\\]|\\.)*"|^'[^']*'|^[^:\s,}]+/.exec(text.slice(offset))?.[0] ?? '';
  return {
    ...position(offset),
    message: `duplicate key ${key}: each key may appear only once in a mapping (service names must be unique)`,
  };
}
