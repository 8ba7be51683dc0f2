// 6: exec -> 100 long-runs ready, 50 of them each waiting (`after`) for one
// of the other 50; every service says it is ready with s6's notification-fd
// protocol (`echo >&3`) and then sleeps. Ready times are the arrival of
// Berth's own `NAME: ready` lines, which it writes in the same turn of its
// event loop as the transition. The same 100 services without `after` show
// what the dependency gating costs. s6-rc, the s6 peer for dependencies, is
// not packaged in the Debian release the bench installs from: not measured.
import type { Benchmark, Target } from '../lib/benchmark.js';
import { UP_TIMEOUT_MS, warnings, withInstance, type Services } from '../lib/instance.js';
import { waitQuiet } from '../lib/machine.js';
import type { Line } from '../lib/pid1.js';
import { figures, fmt, num, Samples } from '../lib/stats.js';
import { peerUsable, type Options } from '../options.js';
import { busyLine, label, median, progress } from '../report.js';

const PAIRS = 50;
const NOTIFY_FD = 3;

const READY_FIGURES = ['ready', 'firstReady', 'baseReady', 'lastStarted'] as const;
/**
 * From exec, in ms: ready: the 100th `ready` line; firstReady: the first; baseReady: the last of the
 * 50 services the others wait for; lastStarted: the last `started (pid …)`.
 */
type ReadyFigures = Record<(typeof READY_FIGURES)[number], Samples>;

export interface ReadyResult {
  busy: Samples;
  /** 50 dependencies, 50 dependents */
  chained: ReadyFigures;
  /** the same 100 services, none waiting */
  flat: ReadyFigures;
}

const base = (i: number): string => `base${String(i).padStart(2, '0')}`;
const dependent = (i: number): string => `dep${String(i).padStart(2, '0')}`;

/** 50 services that others wait for, then 50 that each wait (`after`) for one of them, when `chained`. */
function notifyingServices(chained: boolean): Services {
  const script = `echo >&${NOTIFY_FD}; exec sleep infinity`;
  const readiness = { notificationFd: NOTIFY_FD };
  return () => [
    ...Array.from({ length: PAIRS }, (_, i) => ({ name: base(i), script, readiness })),
    ...Array.from({ length: PAIRS }, (_, i) => ({ name: dependent(i), script, readiness, ...(chained ? { after: [base(i)] } : {}) })),
  ];
}

/** The service name of a `[berth] NAME: ready` line, else undefined. */
function readyName(text: string): string | undefined {
  return /^\[berth\] (\S+): ready$/.exec(text)?.[1];
}

/** Throws unless every dependent started after its dependency's `ready` line: the figure is only worth its gating. */
function checkOrder(lines: string[]): void {
  for (let i = 0; i < PAIRS; i++) {
    const isReady = lines.indexOf(`[berth] ${base(i)}: ready`);
    const started = lines.findIndex((l) => l.startsWith(`[berth] ${dependent(i)}: started (pid`));
    if (isReady < 0 || started < isReady) throw new Error(`${dependent(i)} started before ${base(i)} was ready`);
  }
}

async function measure(o: Options): Promise<ReadyResult> {
  const r: ReadyResult = { busy: new Samples(), chained: figures(READY_FIGURES), flat: figures(READY_FIGURES) };
  const peer = peerUsable(o, 'berth');
  if (!peer) return r;
  for (let run = 0; run < o.runs; run++) {
    progress(`ready: run ${run + 1}/${o.runs}`);
    for (const chained of [true, false]) {
      const f = chained ? r.chained : r.flat;
      r.busy.add(await waitQuiet());
      try {
        await withInstance(peer, notifyingServices(chained), async (inst) => {
          const t0 = inst.init.t0;
          const ready = await inst.init.waitForLines((text) => readyName(text) !== undefined, 2 * PAIRS, UP_TIMEOUT_MS);
          const last = (lines: Line[]): number => Math.max(...lines.map((l) => l.t)) - t0;
          f.ready.add(last(ready));
          f.firstReady.add(Math.min(...ready.map((l) => l.t)) - t0);
          f.baseReady.add(last(ready.filter((l) => readyName(l.text)!.startsWith('base'))));
          f.lastStarted.add(last(inst.init.lines.filter((l) => /^\[berth\] \S+: started \(pid/.test(l.text))));
          if (chained) checkOrder(inst.init.lines.map((l) => l.text));
        });
      } catch (err) {
        for (const k of READY_FIGURES) if (f[k].values.length <= run) f[k].add(NaN);
        warnings.push(`ready ${chained ? 'chained' : 'flat'} run ${run + 1}: ${(err as Error).message}`);
      }
    }
  }
  return r;
}

function report(r: ReadyResult): { lines: string[]; targets: Target[] } {
  const ready = r.chained.ready.summary;
  const cost = r.chained.ready.ratioTo(r.flat.ready);
  const lines = [
    `6. exec -> 100 long-runs ready: ${PAIRS} each waiting (after) for one of the other ${PAIRS}; readiness by notification-fd ${NOTIFY_FD}`,
    `   (service: sh -c 'echo >&${NOTIFY_FD}; exec sleep infinity'; arrival of Berth's "NAME: ready" lines, from exec)`,
    busyLine(r.busy),
    `   ${label('berth, with after')}all ready ${fmt(ready, 'ms')}`,
    `   ${label('')}first ready ${fmt(r.chained.firstReady.summary, 'ms')}; last of the ${PAIRS} waited for ${fmt(r.chained.baseReady.summary, 'ms')}; last started ${fmt(r.chained.lastStarted.summary, 'ms')}`,
    `   ${label('berth, no after')}all ready ${fmt(r.flat.ready.summary, 'ms')}; last started ${fmt(r.flat.lastStarted.summary, 'ms')}`,
    `   ${label('')}${cost ? `with/without after ${num(cost.median, 2)}x (per-run ratios: min ${num(cost.min, 2)}, max ${num(cost.max, 2)})` : ''}`,
    `   ${label('s6-rc')}not measured (not packaged in the Debian release here: apt has s6 and s6-doc only)`,
    `   ${label('tini')}n/a (no readiness, no dependencies)`,
  ];
  const targets: Target[] = [
    {
      what: '100 ready, 50 after 50 (fd)',
      target: 'reported (beside s6-rc)',
      berth: median(ready, 'ms'),
      pass: undefined,
      peers: 's6-rc not measured (not packaged here)',
    },
  ];
  return { lines, targets };
}

export const ready: Benchmark<ReadyResult> = { name: 'ready', measure, report };
