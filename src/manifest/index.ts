// The manifest API: load and check a manifest, format its problems, plan its stages.
import { checkValue, type Checked } from './check.js';
import { sourceLocator, START } from './locate.js';
import { parseFile, type Parsed, type ParseOptions } from './parse.js';
import type { Problem } from './types.js';

export type { Job, Liveness, Logging, Manifest, Plan, Probe, Problem, Readiness, Service, ServiceType } from './types.js';
export type { Schedule } from './schedule.js';
export type { Limits } from './limits.js';
export { isTimeZone } from './schedule.js';
export { plan } from './plan.js';
export type { Checked } from './check.js';
export type { ParseOptions } from './parse.js';

/**
 * `FILE:LINE:COL: PATH: MESSAGE`, the line `berth validate` prints and editors
 * can jump to. Always one line: messages quote what the user wrote (a file
 * name, an unknown service), which may hold a newline or other control
 * characters; those are escaped as in a JSON string.
 */
export function formatProblem(p: Problem): string {
  return oneLine(`${p.file}:${p.line}:${p.col}: ${p.path || '(file)'}: ${p.message}`);
}

const CONTROL = /[\0-\x1f\x7f\u2028\u2029]/g;
const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function oneLine(text: string): string {
  return text.replace(CONTROL, (c) => NAMED[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Reads, parses and checks a manifest file (YAML or JSON). Never throws for a bad file: it reports problems. */
export async function loadManifest(file: string, options: ParseOptions = {}): Promise<Checked> {
  return checkParsed(await parseFile(file, options), file);
}

/** Checks what parseFile, or parseText of the file's text, made of `file`. */
export function checkParsed(parsed: Parsed, file: string): Checked {
  if (!parsed.ok) return { problems: parsed.problems.map((p) => ({ file, ...p, path: '' })) };
  const checked = checkValue(parsed.value, file, parsed.locate);
  const tooDeep = checked.problems.length ? parsed.tooDeep?.() : undefined;
  return tooDeep ? { problems: [{ file, ...tooDeep, path: '' }] } : checked;
}

/**
 * Checks a manifest that is already a value (image definitions build one).
 * With `source`, the YAML or JSON text the value came from, problems get real line:col.
 */
export function checkManifest(value: unknown, file: string, source?: string): Checked {
  return checkValue(value, file, source === undefined ? () => START : sourceLocator(source));
}
