// The manifest API: load and check a manifest, format its problems, plan its stages.
import { checkValue, type Checked } from './check.js';
import { sourceLocator, START } from './locate.js';
import { parseFile, type ParseOptions } from './parse.js';
import type { Problem } from './types.js';

export type { Logging, Manifest, Plan, Problem, Service, ServiceType } from './types.js';
export { plan } from './plan.js';
export type { Checked } from './check.js';
export type { ParseOptions } from './parse.js';

/** `FILE:LINE:COL: PATH: MESSAGE`, the line `berth validate` prints and editors can jump to. */
export function formatProblem(p: Problem): string {
  return `${p.file}:${p.line}:${p.col}: ${p.path || '(file)'}: ${p.message}`;
}

/** Reads, parses and checks a manifest file (YAML or JSON). Never throws for a bad file: it reports problems. */
export async function loadManifest(file: string, options: ParseOptions = {}): Promise<Checked> {
  const parsed = await parseFile(file, options);
  if (!parsed.ok) return { problems: parsed.problems.map((p) => ({ file, ...p, path: '' })) };
  return checkValue(parsed.value, file, parsed.locate);
}

/**
 * Checks a manifest that is already a value (image definitions build one).
 * With `source`, the YAML or JSON text the value came from, problems get real line:col.
 */
export function checkManifest(value: unknown, file: string, source?: string): Checked {
  return checkValue(value, file, source === undefined ? () => START : sourceLocator(source));
}
