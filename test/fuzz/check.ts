// Runs one property with fast-check and turns a failure into a readable report.
import fc from 'fast-check';
import type { PropertySpec } from './properties.js';

/** The seed `npm test` uses, so a failure there is the same failure on every machine. */
export const SEED = 20261126;

export interface Outcome { name: string; cases: number; failed: boolean; report: string; ms: number }

export async function checkProperty(spec: PropertySpec, numRuns: number, seed = SEED): Promise<Outcome> {
  const started = Date.now();
  const details = await fc.check(spec.property(), { numRuns, seed });
  return {
    name: spec.name,
    cases: details.numRuns,
    failed: details.failed,
    report: details.failed ? `${fc.defaultReportMessage(details) ?? 'failed'}\n${(details.errorInstance as Error | undefined)?.message ?? ''}` : '',
    ms: Date.now() - started,
  };
}
