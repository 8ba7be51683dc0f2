// What a benchmark is: it measures into a typed result of its own, then turns
// that result into its section of the report and its rows of the targets table.
import type { Options } from '../options.js';
import type { Summary } from './stats.js';

/** A row of the targets table at the end of the report. */
export interface Target {
  what: string;
  target: string;
  berth: string;
  /** undefined when there is no data to judge */
  pass: boolean | undefined;
  peers: string;
}

/** A row of the Berth-against-baseline table (--baseline): both medians, and the median of the per-run ratios. */
export interface Versus {
  what: string;
  berth: string;
  baseline: string;
  ratio: Summary | undefined;
}

export interface Section {
  lines: string[];
  targets: Target[];
  /** with --baseline only */
  versus?: Versus[];
}

export interface Benchmark<R> {
  /** what `--only` calls it */
  name: string;
  measure(o: Options): Promise<R>;
  report(result: R, o: Options): Section;
  /** removes what an interrupted run left behind (cgroups, scratch dirs); instances are cleaned up for all */
  cleanup?(): void;
}

/** A benchmark with its result type closed over, so benchmarks of different results share one list. */
export interface Runnable {
  name: string;
  run(o: Options): Promise<Section>;
  cleanup?(): void;
}

export function runnable<R>(b: Benchmark<R>): Runnable {
  return { name: b.name, run: async (o) => b.report(await b.measure(o), o), cleanup: b.cleanup };
}
