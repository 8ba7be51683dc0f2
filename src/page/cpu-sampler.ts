// The CPU /status.json reports: each service's share of one core since the
// last sample, from the init's own read of /proc (serviceTotals), as there
// is no pidusage in PID 1. One pass over /proc a sample; between samples it
// keeps each service's CPU seconds and nothing else. Here, not in procfs,
// so that it is in the page's bundle only.
import { serviceTotals } from '../procfs/stats.js';

export class CpuSampler {
  private last = new Map<number, number>();
  private at = 0;

  /** Milliseconds since the last sample (Infinity before the first). */
  age(): number {
    return this.at === 0 ? Infinity : performance.now() - this.at;
  }

  /** Each main pid's CPU since the last sample (0 at the first) and its memory now. */
  sample(mainPids: number[]): Map<number, { cpu: number; memory: number }> {
    const now = performance.now();
    const totals = serviceTotals(mainPids);
    const out = new Map<number, { cpu: number; memory: number }>();
    for (const [main, t] of totals) {
      // a main pid new since the last sample ran within the window; a process the init reaped took its time with it: never below 0
      const used = Math.max(0, t.cpuSeconds - (this.last.get(main) ?? 0));
      out.set(main, { cpu: this.at === 0 ? 0 : (100 * used) / ((now - this.at) / 1000), memory: t.memory });
    }
    this.last = new Map([...totals].map(([main, t]) => [main, t.cpuSeconds]));
    this.at = now;
    return out;
  }
}
