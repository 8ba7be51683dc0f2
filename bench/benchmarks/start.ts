// 1 + 2: exec -> every long-run up, and PID-1 memory 1.5 s after the last one
// is up, for 1, 10 and 100 services against s6, tini and the bare-node floor.
import { performance } from 'node:perf_hooks';
import type { Benchmark, Target } from '../lib/benchmark.js';
import { longRuns, UP_TIMEOUT_MS, warnings, withInstance, type Instance } from '../lib/instance.js';
import { waitQuiet } from '../lib/machine.js';
import type { PeerName } from '../lib/peers.js';
import { delay } from '../lib/pid1.js';
import { memoryOf, memoryOfAll } from '../lib/proc.js';
import { figures, fmt, mb, num, Samples } from '../lib/stats.js';
import { absent, peerUsable, type Options } from '../options.js';
import { berthMemoryLines, busyLine, label, mbS, median, peerLine, progress, ratioText } from '../report.js';

const SETTLE_MS = 1500; // memory is read this long after the last service is up

const INIT_FIGURES = ['up', 'rss', 'pss', 'uss', 'treeRss', 'treePss'] as const;
/** One init with one number of services, over the runs; memory in kB, times in ms. */
type InitFigures = Record<(typeof INIT_FIGURES)[number], Samples>;

const STEPS = ['init started', 'first started', 'last started', 'all stages done'] as const;
type Step = (typeof STEPS)[number];

export interface StartResult {
  busy: Samples;
  berth: Record<1 | 10 | 100, InitFigures>;
  s6: Record<1 | 10 | 100, InitFigures>;
  /** one child */
  tini: InitFigures;
  /** the floor: a bare idle node, no services */
  node: InitFigures;
  /** where Berth's time to 100 services goes: arrival of its own log lines, from exec */
  berthSteps: Record<Step, Samples>;
}

// run order within each round; s6 right after Berth so their ratio compares neighbours
const CONFIGS: Array<[PeerName, number]> = [
  ['berth', 100],
  ['s6', 100],
  ['berth', 10],
  ['s6', 10],
  ['berth', 1],
  ['s6', 1],
  ['tini', 1],
  ['node', 0],
];

function emptyResult(): StartResult {
  const byCount = (): Record<1 | 10 | 100, InitFigures> => ({ 1: figures(INIT_FIGURES), 10: figures(INIT_FIGURES), 100: figures(INIT_FIGURES) });
  return { busy: new Samples(), berth: byCount(), s6: byCount(), tini: figures(INIT_FIGURES), node: figures(INIT_FIGURES), berthSteps: figures(STEPS) };
}

function figuresOf(r: StartResult, name: PeerName, n: number): InitFigures {
  if (name === 'berth' || name === 's6') return r[name][n as 1 | 10 | 100];
  return r[name];
}

async function measure(o: Options): Promise<StartResult> {
  const r = emptyResult();
  // memory barely varies between runs: the small configurations get at most 3
  const smallRuns = Math.min(3, o.runs);
  for (let run = 0; run < o.runs; run++) {
    progress(`start + memory: run ${run + 1}/${o.runs}`);
    for (const [name, n] of CONFIGS) {
      const peer = peerUsable(o, name);
      if (!peer || (n < 100 && run >= smallRuns)) continue;
      const f = figuresOf(r, name, n);
      r.busy.add(await waitQuiet());
      try {
        await withInstance(peer, longRuns(n), async (inst) => {
          if (n > 0) {
            const ups = await inst.fifo.waitFor((e) => e.text.startsWith('up '), n, UP_TIMEOUT_MS);
            const last = Math.max(...ups.slice(0, n).map((e) => e.t));
            f.up.add(last - inst.init.t0);
            await delay(Math.max(0, last + SETTLE_MS - performance.now()));
            if (name === 'berth' && n === 100) addSteps(inst, n, r.berthSteps);
          } else {
            await delay(SETTLE_MS + 100);
          }
          const m = memoryOf(inst.pid);
          f.rss.add(m?.rssKb);
          f.pss.add(m?.pssKb);
          f.uss.add(m?.ussKb);
          const tree = memoryOfAll(peer.tree(inst.pid));
          f.treeRss.add(tree?.rssKb);
          f.treePss.add(tree?.pssKb);
        });
      } catch (err) {
        for (const k of INIT_FIGURES) if (f[k].values.length <= run) f[k].add(NaN);
        warnings.push(`start ${name}:${n} run ${run + 1}: ${(err as Error).message}`);
      }
    }
  }
  return r;
}

/** Where Berth's start-up time goes, from the arrival times of its own log lines. */
function addSteps(inst: Instance, n: number, steps: Record<Step, Samples>): void {
  const t0 = inst.init.t0;
  const at = (re: RegExp, nth = 1): number | undefined => {
    let seen = 0;
    for (const l of inst.init.lines) if (re.test(l.text) && ++seen === nth) return l.t - t0;
    return undefined;
  };
  steps['init started'].add(at(/\binit started\b/));
  steps['first started'].add(at(/: started \(pid/));
  steps['last started'].add(at(/: started \(pid/, n));
  steps['all stages done'].add(at(/all stages done/));
}

function report(r: StartResult, o: Options): { lines: string[]; targets: Target[] } {
  const s6 = absent(o, 's6');
  const tini = absent(o, 'tini');
  const up = r.berth[100].up.summary;
  const lines = [
    "1. exec -> all 100 long-runs up (service: sh -c 'echo up $$ > FIFO; exec sleep infinity'; last FIFO line arrival)",
    busyLine(r.busy),
    `   ${label('berth')}${fmt(up, 'ms')}`,
    `   ${peerLine(o, 's6', `${fmt(r.s6[100].up.summary, 'ms')}   ${ratioText(r.berth[100].up.ratioTo(r.s6[100].up), 'berth/s6')}`)}`,
    `   ${label('tini')}n/a (runs one child)`,
    '   berth, where the time goes (arrival of its own log lines, from exec):',
    ...STEPS.map((k) => `     ${k.padEnd(18)}${fmt(r.berthSteps[k].summary, 'ms')}`),
    `   10 services: berth ${fmt(r.berth[10].up.summary, 'ms')}; s6 ${s6 ?? fmt(r.s6[10].up.summary, 'ms')}`,
    `    1 service:  berth ${fmt(r.berth[1].up.summary, 'ms')}; s6 ${s6 ?? fmt(r.s6[1].up.summary, 'ms')}; tini ${tini ?? fmt(r.tini.up.summary, 'ms')}`,
    '',
    `2. PID-1 memory, ${SETTLE_MS} ms after the last service is up (/proc/PID/smaps_rollup; MB = 1024 kB)`,
    ...berthMemoryLines(r.node, r.berth, true),
    ...([1, 10, 100] as const).map(
      (n) =>
        `   ${label(`s6, ${n} service${n === 1 ? '' : 's'}`)}${s6 ?? `s6-svscan RSS ${fmt(mbS(r.s6[n].rss.summary), 'MB', 2)}; with its s6-supervise: RSS ${fmt(mbS(r.s6[n].treeRss.summary), 'MB', 2)}, PSS ${fmt(mbS(r.s6[n].treePss.summary), 'MB', 2)}`}`,
    ),
    `   ${peerLine(o, 'tini', `1 child: RSS ${fmt(mbS(r.tini.rss.summary), 'MB', 2)}; PSS ${fmt(mbS(r.tini.pss.summary), 'MB', 2)}; 10/100 n/a (one child)`)}`,
  ];
  const ratio100 = r.berth[100].rss.ratioTo(r.node.rss);
  const rss100 = r.berth[100].rss.summary;
  const s6Tree = r.s6[100].treeRss.summary;
  const targets: Target[] = [
    {
      what: '100 services up',
      target: '< 300 ms',
      berth: median(up, 'ms'),
      pass: up ? up.median < 300 : undefined,
      peers: `s6 ${s6 ?? median(r.s6[100].up.summary, 'ms')} (issue: ~580 ms)`,
    },
    {
      what: 'memory, 100 services, +1.5 s',
      target: '< 1.3x bare node (RSS)',
      berth: ratio100 && rss100 ? `${num(ratio100.median, 2)}x (${num(mb(rss100.median), 1)} MB)` : 'no data',
      pass: ratio100 ? ratio100.median < 1.3 : undefined,
      peers: `s6 tree ${s6 ?? (s6Tree ? `${num(mb(s6Tree.median), 1)} MB` : 'no data')}`,
    },
  ];
  return { lines, targets };
}

export const start: Benchmark<StartResult> = { name: 'start', measure, report };
