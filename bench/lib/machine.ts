// How busy the machine is, from /proc/stat: other work on a 2-core machine
// skews every timing, so each timed run waits (bounded) for a quiet moment
// and the busy level before it is reported.
import { readFileSync } from 'node:fs';
import { delay } from './pid1.js';

function cpuTotals(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'latin1').split('\n', 1)[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = (f[3] ?? 0) + (f[4] ?? 0); // idle + iowait
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0); // user..steal (guest is inside user)
  return { busy: total - idle, total };
}

/** Fraction of all CPUs busy over the next `ms` (0..1). */
export async function busyOver(ms: number): Promise<number> {
  const a = cpuTotals();
  await delay(ms);
  const b = cpuTotals();
  const total = b.total - a.total;
  return total > 0 ? (b.busy - a.busy) / total : 0;
}

const QUIET = 0.25; // one core of two half busy
const SAMPLE_MS = 250;
const MAX_WAIT_PER_RUN_MS = 2000;
let budgetMs = 30_000; // over the whole bench, so a busy machine cannot stretch it much

/** Waits until the machine is quiet, at most a few seconds; returns the busy fraction last seen. */
export async function waitQuiet(): Promise<number> {
  let waited = 0;
  for (;;) {
    const busy = await busyOver(SAMPLE_MS);
    if (busy < QUIET || waited >= MAX_WAIT_PER_RUN_MS || budgetMs <= 0) return busy;
    waited += SAMPLE_MS;
    budgetMs -= SAMPLE_MS;
  }
}
