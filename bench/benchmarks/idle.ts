// 4: idle CPU. Three instances of each init side by side; from 2 s after all
// are up, PID 1's CPU over the window, sampled every second so a one-off (a GC
// after start-up) shows apart from a steady cost. Berth with 1 and 100
// services rides along for its memory once idle, and one Berth with 1,000
// for its CPU. The baseline (--baseline) runs beside each Berth.
import { performance } from 'node:perf_hooks';
import { besideBerth } from '../lib/baseline.js';
import type { Benchmark, Section, Target } from '../lib/benchmark.js';
import { longRuns, startInstance, stopInstance, UP_TIMEOUT_MS, warnings, type Instance } from '../lib/instance.js';
import type { PeerName } from '../lib/peers.js';
import { delay } from '../lib/pid1.js';
import { cpuOf, memoryOf, type CpuSnap } from '../lib/proc.js';
import { figures, fmt, mb, num, Samples } from '../lib/stats.js';
import { absent, peerUsable, type Options } from '../options.js';
import { baselineMemoryLines, baselineRow, berthMemoryLines, label, progress, ratioText, versus } from '../report.js';

const CPU_INSTANCES = 3;

const IDLE_FIGURES = ['ticks', 'ms', 'ms2', 'activeSeconds', 'treeTicks', 'treeMs', 'rss', 'pss', 'uss'] as const;
/**
 * Per instance: PID 1's CPU over the window in ticks of 10 ms and in ms (schedstat), ms over its
 * second half, seconds with > 0.1 ms CPU; the same in ticks and ms for the init's whole tree
 * (s6-svscan with its s6-supervise); PID-1 memory (kB) at the end of the window.
 */
type IdleFigures = Record<(typeof IDLE_FIGURES)[number], Samples>;

export interface IdleResult {
  /** the window's real length */
  seconds: Samples;
  berth: Record<1 | 10 | 100 | 1000, IdleFigures>;
  baseline: Record<1 | 10 | 100 | 1000, IdleFigures>;
  s6: IdleFigures;
  tini: IdleFigures;
  node: IdleFigures;
}

const PLAN: Array<[PeerName, number]> = [
  ['berth', 10],
  ['s6', 10],
  ['tini', 1],
  ['node', 0],
  ['berth', 1],
  ['berth', 100],
];
/** one instance only: 1,000 more processes per instance would crowd the 2-core machine */
const MANY: [PeerName, number] = ['berth', 1000];

function figuresOf(r: IdleResult, name: PeerName, n: number): IdleFigures {
  if (name === 'spawner') throw new Error('the spawn floor is not an idle init');
  return name === 'berth' || name === 'baseline' ? r[name][n as 1 | 10 | 100 | 1000] : r[name];
}

async function measure(o: Options): Promise<IdleResult> {
  const byCount = (): IdleResult['berth'] => ({ 1: figures(IDLE_FIGURES), 10: figures(IDLE_FIGURES), 100: figures(IDLE_FIGURES), 1000: figures(IDLE_FIGURES) });
  const r: IdleResult = {
    seconds: new Samples(),
    berth: byCount(),
    baseline: byCount(),
    s6: figures(IDLE_FIGURES),
    tini: figures(IDLE_FIGURES),
    node: figures(IDLE_FIGURES),
  };
  const instances: Array<{ inst: Instance; f: IdleFigures }> = [];
  progress(`idle CPU and memory: ${CPU_INSTANCES} of each init side by side, ${o.cpuSeconds} s window`);
  try {
    for (let i = 0; i < CPU_INSTANCES; i++) {
      for (const [name, n] of (i === 0 ? [...PLAN, MANY] : PLAN).flatMap(([peer, n]) => besideBerth([peer], i).map((p) => [p, n] as const))) {
        const peer = peerUsable(o, name);
        if (!peer) continue;
        const inst = await startInstance(peer, longRuns(n));
        instances.push({ inst, f: figuresOf(r, name, n) });
        if (n > 0) await inst.fifo.waitFor((e) => e.text.startsWith('up '), n, UP_TIMEOUT_MS);
      }
    }
    await delay(2000); // start-up work (lazy compilation, first GC) is not idle
    const snap = (): CpuSnap[] => instances.map(({ inst }) => cpuOf(inst.peer.tree(inst.pid)));
    const pid1Snap = (): CpuSnap[] => instances.map(({ inst }) => cpuOf([inst.pid]));
    const before = pid1Snap();
    const treeBefore = snap();
    const t0 = performance.now();
    const perSecond: CpuSnap[][] = [before];
    let half: CpuSnap[] = before;
    for (let sec = 1; sec <= o.cpuSeconds; sec++) {
      await delay(Math.max(0, t0 + sec * 1000 - performance.now()));
      perSecond.push(pid1Snap());
      if (sec === Math.floor(o.cpuSeconds / 2)) half = perSecond[perSecond.length - 1];
    }
    r.seconds.add((performance.now() - t0) / 1000);
    const after = perSecond[perSecond.length - 1];
    const treeAfter = snap();
    instances.forEach(({ inst, f }, i) => {
      f.ticks.add(after[i].ticks - before[i].ticks);
      f.ms.add((after[i].ns - before[i].ns) / 1e6);
      f.ms2.add((after[i].ns - half[i].ns) / 1e6);
      f.activeSeconds.add(perSecond.slice(1).filter((p, sec) => p[i].ns - perSecond[sec][i].ns > 100_000).length);
      f.treeTicks.add(treeAfter[i].ticks - treeBefore[i].ticks);
      f.treeMs.add((treeAfter[i].ns - treeBefore[i].ns) / 1e6);
      const m = memoryOf(inst.pid);
      f.rss.add(m?.rssKb);
      f.pss.add(m?.pssKb);
      f.uss.add(m?.ussKb);
    });
  } catch (err) {
    warnings.push(`idle CPU: ${(err as Error).message}`);
  } finally {
    await Promise.all(instances.map(({ inst }) => stopInstance(inst)));
  }
  return r;
}

function report(r: IdleResult, o: Options): Section {
  const secs = r.seconds.summary?.median ?? o.cpuSeconds;
  const lines = [
    `4. idle CPU of PID 1 over ${num(secs, 1)} s, 10 services (${CPU_INSTANCES} instances side by side, window from 2 s after all up; utime+stime in ticks of 10 ms, and exact ns from schedstat)`,
  ];
  const rows: Array<[PeerName, IdleFigures, string]> = [
    ['berth', r.berth[10], ''],
    ...(o.baseline ? [['baseline', r.baseline[10], ''] as [PeerName, IdleFigures, string]] : []),
    ['s6', r.s6, ''],
    ['tini', r.tini, ' (1 child)'],
    ['node', r.node, ' (bare node)'],
  ];
  for (const [name, f, what] of rows) {
    const a = absent(o, name);
    const tree = name === 's6' ? `; with s6-supervise: ${fmt(f.treeTicks.summary, 'ticks', 0)}, ${fmt(f.treeMs.summary, 'ms')}` : '';
    const ratio = name === 'baseline' ? r.berth[10].ms.ratioTo(f.ms) : undefined;
    const vs = ratio ? `   ${ratioText(ratio, 'berth/baseline')}` : '';
    lines.push(`   ${label(name + what)}${a ?? `${fmt(f.ticks.summary, 'ticks', 0)}; ${fmt(f.ms.summary, 'ms CPU')}${tree}${vs}`}`);
    if (!a) lines.push(`   ${label('')}second half of the window ${fmt(f.ms2.summary, 'ms')}; seconds with > 0.1 ms CPU: ${fmt(f.activeSeconds.summary, '', 0)}`);
  }
  const many = r.berth[1000];
  const baseMany = r.baseline[1000];
  lines.push(`   ${label('berth, 1,000 services')}${fmt(many.ticks.summary, 'ticks', 0)}; ${fmt(many.ms.summary, 'ms CPU')} (one instance)`);
  lines.push(...baselineRow(o, `${fmt(baseMany.ticks.summary, 'ticks', 0)}; ${fmt(baseMany.ms.summary, 'ms CPU')}`, many.ms.ratioTo(baseMany.ms), 'baseline, 1,000'));
  lines.push(`   PID-1 memory at the end of the window (idle ~${num(secs + 2, 0)} s; the floor measured alongside):`);
  lines.push(...berthMemoryLines(r.node, r.berth, false));
  lines.push(...baselineMemoryLines(o, r.berth, r.baseline, [1, 10, 100]));

  const steady = r.berth[100].rss.ratioTo(r.node.rss);
  const rss100 = r.berth[100].rss.summary;
  const ticks = r.berth[10].ticks.summary;
  const ms = r.berth[10].ms.summary;
  const s6Ms = r.s6.treeMs.summary;
  const nodeMs = r.node.ms.summary;
  const manyTicks = many.ticks.summary;
  const targets: Target[] = [
    {
      what: `memory, 100 services, idle`,
      target: '< 1.2x bare node (RSS)',
      berth: steady && rss100 ? `${num(steady.median, 2)}x (${num(mb(rss100.median), 1)} MB)` : 'no data',
      pass: steady ? steady.median < 1.2 : undefined,
      peers: `after ~${num(secs + 2, 0)} s idle`,
    },
    {
      what: `idle CPU (${num(secs, 0)} s, 10 services)`,
      target: '~0 (<= 1 tick in every instance)',
      berth: ticks ? `${num(ticks.max, 0)} ticks max, ${ms ? num(ms.median, 2) : '?'} ms` : 'no data',
      pass: ticks ? ticks.max <= 1 : undefined,
      peers: `s6 ${absent(o, 's6') ?? (s6Ms ? `${num(s6Ms.median, 2)} ms` : 'no data')}, bare node ${nodeMs ? `${num(nodeMs.median, 2)} ms` : '?'}`,
    },
    {
      what: `idle CPU (${num(secs, 0)} s, 1,000 services)`,
      target: '0 (<= 1 tick) (#11)',
      berth: manyTicks ? `${num(manyTicks.max, 0)} ticks, ${many.ms.summary ? num(many.ms.summary.median, 2) : '?'} ms` : 'no data',
      pass: manyTicks ? manyTicks.max <= 1 : undefined,
      peers: `bare node ${nodeMs ? `${num(nodeMs.median, 2)} ms` : '?'}`,
    },
  ];
  const vs = o.baseline && [
    versus(`idle CPU (${num(secs, 0)} s, 10 services)`, r.berth[10].ms, r.baseline[10].ms, 'ms'),
    versus(`idle CPU (${num(secs, 0)} s, 1,000 services)`, many.ms, baseMany.ms, 'ms'),
    versus(`PSS, 100 services, idle`, r.berth[100].pss, r.baseline[100].pss, 'MB'),
  ];
  return { lines, targets, versus: vs || undefined };
}

export const idle: Benchmark<IdleResult> = { name: 'cpu', measure, report };
