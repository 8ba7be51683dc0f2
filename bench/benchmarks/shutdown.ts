// 14: shutdown (#29). N long-runs that end on SIGTERM (`sleep`), each init
// as PID 1 of its own namespace, side by side in each round: from SIGTERM to
// PID 1 → until the namespace is gone (its unshare exits). Berth stops them
// in reverse `after` order (none here), records and relays their ends, and
// exits; s6-svscan on SIGTERM has each s6-supervise stop its service, then
// exits.
import type { Benchmark, Section, Target } from '../lib/benchmark.js';
import { UP_TIMEOUT_MS, warnings, withInstance, type Services } from '../lib/instance.js';
import { waitQuiet } from '../lib/machine.js';
import { PEERS } from '../lib/peers.js';
import { delay } from '../lib/pid1.js';
import { fmt, num, Samples } from '../lib/stats.js';
import type { Options } from '../options.js';
import { label, progress } from '../report.js';

const COUNTS = [10, 100] as const;
const NAMES = ['berth', 's6'] as const;
type Name = (typeof NAMES)[number];
const EXIT_TIMEOUT_MS = 10_000;

export interface ShutdownResult {
  /** ms from SIGTERM to the namespace's end, by service count and init */
  byCount: Record<number, Partial<Record<Name, Samples>>>;
}

const sleepers = (n: number): Services => ({ fifo }) =>
  Array.from({ length: n }, (_, i) => ({ name: `svc${String(i).padStart(3, '0')}`, script: `echo up $$ > ${fifo}; exec sleep infinity` }));

async function measure(o: Options): Promise<ShutdownResult> {
  const r: ShutdownResult = { byCount: {} };
  const peers = NAMES.filter((name) => {
    const missing = PEERS[name].missing;
    if (missing) warnings.push(`shutdown: ${name} ${missing}`);
    return !missing && (name === 'berth' || o.peers.has(name));
  });
  for (const n of COUNTS) {
    r.byCount[n] = Object.fromEntries(peers.map((p) => [p, new Samples()]));
    for (let run = 0; run < o.runs; run++) {
      progress(`shutdown: ${n} services, run ${run + 1}/${o.runs}`);
      for (const name of peers.map((_, i) => peers[(i + run) % peers.length])) {
        await waitQuiet();
        try {
          await withInstance(PEERS[name], sleepers(n), async (inst) => {
            await inst.fifo.waitFor((e) => e.text.startsWith('up '), n, UP_TIMEOUT_MS);
            await delay(500);
            const t0 = performance.now();
            process.kill(inst.pid, 'SIGTERM');
            const ended = await Promise.race([inst.init.exited.then(() => true), delay(EXIT_TIMEOUT_MS).then(() => false)]);
            if (!ended) throw new Error(`still running ${EXIT_TIMEOUT_MS} ms after SIGTERM`);
            r.byCount[n][name]!.add(performance.now() - t0);
          });
        } catch (err) {
          warnings.push(`shutdown ${name}, ${n} services, run ${run + 1}: ${(err as Error).message}`);
        }
      }
    }
  }
  return r;
}

function report(r: ShutdownResult): Section {
  const lines = ['14. shutdown: SIGTERM to PID 1 → its namespace gone, N long-runs (sleep) that end on SIGTERM'];
  const targets: Target[] = [];
  for (const n of COUNTS) {
    const row = r.byCount[n] ?? {};
    for (const [name, samples] of Object.entries(row)) lines.push(`   ${label(`${name}, ${n}`)}${fmt(samples!.summary, 'ms')}`);
    const berth = row.berth?.summary;
    const s6 = row.s6?.summary;
    const bound = n === 10 ? 1 : 1.2;
    targets.push({
      what: `shutdown, ${n} services`,
      target: `<= ${bound}x s6 (#29)`,
      berth: berth ? `${num(berth.median)} ms${s6 ? ` (${num(berth.median / s6.median, 2)}x)` : ''}` : 'no data',
      pass: berth && s6 ? berth.median <= bound * s6.median : undefined,
      peers: `s6 ${fmt(s6, 'ms')}`,
    });
  }
  return { lines, targets };
}

export const shutdown: Benchmark<ShutdownResult> = { name: 'shutdown', measure, report };
