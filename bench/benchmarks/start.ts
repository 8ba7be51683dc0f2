// 1 + 2: exec -> every long-run up, and PID-1 memory 1.5 s after the last one
// is up, for 1, 10, 100 and 1,000 services against s6, tini, the bare-node
// floor and the spawn floor (a C program that only posix_spawns), and against
// the baseline (--baseline) at every count Berth runs.
import { besideBerth } from '../lib/baseline.js';
import { performance } from 'node:perf_hooks';
import type { Benchmark, Section, Target } from '../lib/benchmark.js';
import { longRuns, UP_TIMEOUT_MS, warnings, withInstance } from '../lib/instance.js';
import { waitQuiet } from '../lib/machine.js';
import type { PeerName } from '../lib/peers.js';
import { delay } from '../lib/pid1.js';
import { memoryOf, memoryOfAll } from '../lib/proc.js';
import { figures, fmt, mb, num, Samples, type Summary } from '../lib/stats.js';
import { absent, peerUsable, type Options } from '../options.js';
import { baselineMemoryLines, baselineRow, berthMemoryLines, busyLine, label, mbS, median, peerLine, progress, ratioText, versus } from '../report.js';

const SETTLE_MS = 1500; // memory is read this long after the last service is up

const INIT_FIGURES = ['first', 'up', 'rss', 'pss', 'uss', 'treeRss', 'treePss'] as const;
/** One init with one number of services, over the runs; memory in kB, times in ms ('first': the first service up, 'up': the last). */
type InitFigures = Record<(typeof INIT_FIGURES)[number], Samples>;

type Count = 1 | 10 | 100 | 1000;
const MANY = 1000;

export interface StartResult {
  busy: Samples;
  berth: Record<Count, InitFigures>;
  baseline: Record<Count, InitFigures>;
  s6: Record<Count, InitFigures>;
  /** one child */
  tini: InitFigures;
  /** the floor: a bare idle node, no services */
  node: InitFigures;
  /** the spawn floor with 100 and 1,000 services */
  spawner: Record<100 | 1000, InitFigures>;
}

// run order within each round (the baseline beside Berth: besideBerth); s6 right after Berth so their ratio compares neighbours
const CONFIGS: Array<[PeerName, number]> = [
  ['berth', 100],
  ['s6', 100],
  ['spawner', 100],
  ['berth', MANY],
  ['s6', MANY],
  ['spawner', MANY],
  ['berth', 10],
  ['s6', 10],
  ['berth', 1],
  ['s6', 1],
  ['tini', 1],
  ['node', 0],
];

function emptyResult(): StartResult {
  const byCount = (): Record<Count, InitFigures> => ({ 1: figures(INIT_FIGURES), 10: figures(INIT_FIGURES), 100: figures(INIT_FIGURES), 1000: figures(INIT_FIGURES) });
  return {
    busy: new Samples(),
    berth: byCount(),
    baseline: byCount(),
    s6: byCount(),
    tini: figures(INIT_FIGURES),
    node: figures(INIT_FIGURES),
    spawner: { 100: figures(INIT_FIGURES), 1000: figures(INIT_FIGURES) },
  };
}

function figuresOf(r: StartResult, name: PeerName, n: number): InitFigures {
  if (name === 'berth' || name === 'baseline' || name === 's6') return r[name][n as Count];
  if (name === 'spawner') return r.spawner[n as 100 | 1000];
  return r[name];
}

async function measure(o: Options): Promise<StartResult> {
  const r = emptyResult();
  // memory barely varies between runs: the small configurations get at most 3 runs; the 1,000-service
  // start, whose median against the floor's is #11's target and moves by ±15% from run to run here, gets them all
  const smallRuns = Math.min(3, o.runs);
  for (let run = 0; run < o.runs; run++) {
    progress(`start + memory: run ${run + 1}/${o.runs}`);
    for (const [name, n] of CONFIGS.flatMap(([peer, n]) => besideBerth([peer], run).map((p) => [p, n] as const))) {
      const peer = peerUsable(o, name);
      if (!peer || (n < 100 && run >= smallRuns)) continue;
      const f = figuresOf(r, name, n);
      r.busy.add(await waitQuiet());
      try {
        await withInstance(peer, longRuns(n), async (inst) => {
          if (n > 0) {
            const ups = await inst.fifo.waitFor((e) => e.text.startsWith('up '), n, UP_TIMEOUT_MS);
            const times = ups.slice(0, n).map((e) => e.t);
            const last = Math.max(...times);
            f.first.add(Math.min(...times) - inst.init.t0);
            f.up.add(last - inst.init.t0);
            await delay(Math.max(0, last + SETTLE_MS - performance.now()));
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

/** (RSS with 1,000 services − RSS with 100) / 900, per round, in kB: what one more service costs PID 1. */
function marginalKb(r: StartResult): Samples {
  const out = new Samples();
  const many = r.berth[MANY].rss.values;
  const hundred = r.berth[100].rss.values;
  for (let i = 0; i < many.length; i++) out.add((many[i] - hundred[i]) / (MANY - 100));
  return out;
}

function report(r: StartResult, o: Options): Section {
  const s6 = absent(o, 's6');
  const tini = absent(o, 'tini');
  const spawner = absent(o, 'spawner');
  const up = r.berth[100].up.summary;
  const upMany = r.berth[MANY].up.summary;
  /** "; baseline 123 ms (…)" with --baseline */
  const base = (s: Samples): string => (o.baseline ? `; baseline ${fmt(s.summary, 'ms')}` : '');
  // Berth writes its log lines after a start burst, so their arrival says nothing of it: the first service up shows the serial start
  const firstUp = (n: 100 | 1000): string =>
    `   first service up: berth ${fmt(r.berth[n].first.summary, 'ms')}${base(r.baseline[n].first)}; s6 ${s6 ?? fmt(r.s6[n].first.summary, 'ms')}; floor ${spawner ?? fmt(r.spawner[n].first.summary, 'ms')}`;
  const marginal = marginalKb(r).summary;
  const lines = [
    "1. exec -> all 100 long-runs up (service: sh -c 'echo up $$ > FIFO; exec sleep infinity'; last FIFO line arrival)",
    busyLine(r.busy),
    `   ${label('berth')}${fmt(up, 'ms')}`,
    ...baselineRow(o, fmt(r.baseline[100].up.summary, 'ms'), r.berth[100].up.ratioTo(r.baseline[100].up)),
    `   ${peerLine(o, 's6', `${fmt(r.s6[100].up.summary, 'ms')}   ${ratioText(r.berth[100].up.ratioTo(r.s6[100].up), 'berth/s6')}`)}`,
    `   ${peerLine(o, 'spawner', `${fmt(r.spawner[100].up.summary, 'ms')}   (C, posix_spawn of each in a row, nothing else: the floor)`)}`,
    `   ${label('tini')}n/a (runs one child)`,
    firstUp(100),
    `   10 services: berth ${fmt(r.berth[10].up.summary, 'ms')}${base(r.baseline[10].up)}; s6 ${s6 ?? fmt(r.s6[10].up.summary, 'ms')}`,
    `    1 service:  berth ${fmt(r.berth[1].up.summary, 'ms')}${base(r.baseline[1].up)}; s6 ${s6 ?? fmt(r.s6[1].up.summary, 'ms')}; tini ${tini ?? fmt(r.tini.up.summary, 'ms')}`,
    `   1,000 services (s6-svscan -c 1000):`,
    `   ${label('berth')}${fmt(upMany, 'ms')}`,
    ...baselineRow(o, fmt(r.baseline[MANY].up.summary, 'ms'), r.berth[MANY].up.ratioTo(r.baseline[MANY].up)),
    `   ${peerLine(o, 's6', `${fmt(r.s6[MANY].up.summary, 'ms')}   ${ratioText(r.berth[MANY].up.ratioTo(r.s6[MANY].up), 'berth/s6')}`)}`,
    `   ${peerLine(o, 'spawner', `${fmt(r.spawner[MANY].up.summary, 'ms')}   ${ratioText(r.berth[MANY].up.ratioTo(r.spawner[MANY].up), 'berth/floor')}`)}`,
    firstUp(MANY),
    '',
    `2. PID-1 memory, ${SETTLE_MS} ms after the last service is up (/proc/PID/smaps_rollup; MB = 1024 kB)`,
    ...berthMemoryLines(r.node, r.berth, true),
    `   ${label('berth, 1,000 services')}RSS ${fmt(mbS(r.berth[MANY].rss.summary), 'MB')}; PSS ${fmt(mbS(r.berth[MANY].pss.summary), 'MB')}; USS ${fmt(mbS(r.berth[MANY].uss.summary), 'MB')}`,
    `   ${label('')}per service beyond 100 (RSS 1,000 − RSS 100) / 900: ${fmt(marginal, 'kB')}`,
    ...baselineMemoryLines(o, r.berth, r.baseline, [1, 10, 100, MANY]),
    ...([1, 10, 100, MANY] as const).map(
      (n) =>
        `   ${label(`s6, ${n} service${n === 1 ? '' : 's'}`)}${s6 ?? `s6-svscan RSS ${fmt(mbS(r.s6[n].rss.summary), 'MB', 2)}; with its s6-supervise: RSS ${fmt(mbS(r.s6[n].treeRss.summary), 'MB', 2)}, PSS ${fmt(mbS(r.s6[n].treePss.summary), 'MB', 2)}`}`,
    ),
    `   ${peerLine(o, 'tini', `1 child: RSS ${fmt(mbS(r.tini.rss.summary), 'MB', 2)}; PSS ${fmt(mbS(r.tini.pss.summary), 'MB', 2)}; 10/100 n/a (one child)`)}`,
  ];
  const rssRatio = r.berth[100].rss.ratioTo(r.node.rss);
  const pssRatio = r.berth[100].pss.ratioTo(r.node.pss);
  const rss100 = r.berth[100].rss.summary;
  const pss100 = r.berth[100].pss.summary;
  const s6Tree = r.s6[100].treeRss.summary;
  const floorMany = r.spawner[MANY].up.summary;
  const ratio = (x: Summary | undefined, kb: Summary | undefined): string => (x && kb ? `${num(x.median, 2)}x (${num(mb(kb.median), 1)} MB)` : 'no data');
  const targets: Target[] = [
    {
      what: '100 services up',
      target: '< 300 ms',
      berth: median(up, 'ms'),
      pass: up ? up.median < 300 : undefined,
      peers: `s6 ${s6 ?? median(r.s6[100].up.summary, 'ms')} (issue: ~580 ms)`,
    },
    (() => {
      const vsS6 = r.berth[100].up.ratioTo(r.s6[100].up);
      return {
        what: '100 services up, beside s6 (each output relayed)',
        target: '<= 0.8x s6, per run (#29)',
        berth: vsS6 ? `${num(vsS6.median, 2)}x (${num(vsS6.min, 2)}-${num(vsS6.max, 2)})` : 'no data',
        pass: vsS6 ? vsS6.median <= 0.8 : undefined,
        peers: `s6 ${s6 ?? median(r.s6[100].up.summary, 'ms')}`,
      };
    })(),
    {
      what: '1,000 services up',
      target: '< 1 s (#11)',
      berth: median(upMany, 'ms'),
      pass: upMany ? upMany.median < 1000 : undefined,
      peers: `s6 ${s6 ?? median(r.s6[MANY].up.summary, 'ms')}, spawn floor ${spawner ?? median(floorMany, 'ms')}`,
    },
    {
      what: 'memory per service, 100→1,000',
      target: '< 10 kB RSS (#11)',
      berth: median(marginal, 'kB'),
      pass: marginal ? marginal.median < 10 : undefined,
      peers: `s6 tree ${s6 ?? median(mbS(r.s6[MANY].treeRss.summary), 'MB')} for 1,000`,
    },
    {
      what: 'RSS, 100 services, +1.5 s',
      target: '< 1.2x bare node (#11)',
      berth: ratio(rssRatio, rss100),
      pass: rssRatio ? rssRatio.median < 1.2 : undefined,
      peers: `s6 tree ${s6 ?? (s6Tree ? `${num(mb(s6Tree.median), 1)} MB` : 'no data')}`,
    },
    {
      what: 'PSS, 100 services, +1.5 s',
      target: '< 1.2x bare node (#11)',
      berth: ratio(pssRatio, pss100),
      pass: pssRatio ? pssRatio.median < 1.2 : undefined,
      peers: `bare node ${median(mbS(r.node.pss.summary), 'MB', 1)} (PSS shares node's pages with the bench)`,
    },
  ];
  const vs = o.baseline && [
    versus('100 services up', r.berth[100].up, r.baseline[100].up, 'ms'),
    versus('1,000 services up', r.berth[MANY].up, r.baseline[MANY].up, 'ms'),
    versus('PSS, 100 services, +1.5 s', r.berth[100].pss, r.baseline[100].pss, 'MB'),
    versus('PSS, 1,000 services, +1.5 s', r.berth[MANY].pss, r.baseline[MANY].pss, 'MB'),
  ];
  return { lines, targets, versus: vs || undefined };
}

export const start: Benchmark<StartResult> = { name: 'start', measure, report };
