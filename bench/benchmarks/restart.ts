// 3: restart latency. A restartOnFailure service is SIGKILLed 1.6 s after it
// started, five times in a row, each 1.6 s after the previous restart (issue
// #9: a run of a second or more restarts at once, so every one of the five
// must be under 5 ms); the bench polls the supervisor's children in /proc
// until a new one has exec'd the service. Then a sixth death right after a
// restart shows the crash-loop path. tini does not restart, so only Berth and
// s6 run, and the baseline (--baseline) beside Berth.
import { performance } from 'node:perf_hooks';
import { besideBerth } from '../lib/baseline.js';
import type { Benchmark, Section, Target } from '../lib/benchmark.js';
import { longRuns, UP_TIMEOUT_MS, warnings, withInstance } from '../lib/instance.js';
import { waitQuiet } from '../lib/machine.js';
import { delay } from '../lib/pid1.js';
import { childrenOf, commOf, sleepSync, statOf, tasksOf } from '../lib/proc.js';
import { figures, fmt, num, Samples } from '../lib/stats.js';
import { pollUntil } from '../lib/zombies.js';
import { absent, peerUsable, type Options } from '../options.js';
import { baselineRow, busyLine, label, peerLine, progress, ratioText, versus } from '../report.js';

/** SIGKILLs per run, each this long after the service (re)started. */
const KILLS = 5;
const KILL_AFTER_MS = 1600;

const RESTART_FIGURES = ['fork', 'forkMax', 'dead', 'exec', 'fork2'] as const;
/**
 * fork: kill -> a new child of the supervisor in /proc, the first of the run's five;
 * forkMax: the slowest of the five; exec: the first -> it has exec'd the service;
 * dead: kill -> the old process is a zombie (the kernel's share, the same for every init);
 * fork2: the same as fork for a death right after a restart (the crash-loop path). All ms.
 */
type RestartFigures = Record<(typeof RESTART_FIGURES)[number], Samples>;

export interface RestartResult {
  busy: Samples;
  berth: RestartFigures;
  baseline: RestartFigures;
  s6: RestartFigures;
  /** every one of the five restarts of every run, in order */
  berthAll: Samples;
  baselineAll: Samples;
  s6All: Samples;
  /** the same, from the old process being a zombie (the supervisor's share alone) */
  berthAfterDead: Samples;
  baselineAfterDead: Samples;
  s6AfterDead: Samples;
  /** per run, the longest delay Berth logged (`restarting in N ms`) for the five: 0 under the one-second rule */
  berthDelay: Samples;
}

interface RestartSample {
  deadMs: number;
  forkMs: number;
  execMs: number;
  newPid: number;
}

/**
 * SIGKILLs the service and watches the supervisor's children (main thread first, where spawns happen)
 * until a new one has exec'd the service's `sleep`. Its fork time is when it was first seen: a helper
 * that never becomes the service (s6-supervise forks one for ./finish) is not counted.
 */
function killAndWatch(sup: number, victim: number, timeoutMs: number): RestartSample {
  const tasks = [sup, ...tasksOf(sup).filter((t) => t !== sup)];
  const old = new Set(childrenOf(sup, tasks));
  old.add(victim);
  const firstSeen = new Map<number, number>();
  let found: number | undefined;
  let deadMs: number | undefined;
  const t0 = performance.now();
  process.kill(victim, 'SIGKILL');
  const execMs = pollUntil(
    () => {
      const now = performance.now();
      if (deadMs === undefined && (statOf(victim)?.state ?? 'Z') === 'Z') deadMs = now - t0;
      for (const pid of childrenOf(sup, tasks)) if (!old.has(pid) && !firstSeen.has(pid)) firstSeen.set(pid, now - t0);
      for (const pid of firstSeen.keys()) if (commOf(pid) === 'sleep') return (found = pid) !== undefined;
      return false;
    },
    t0,
    timeoutMs,
    0.05,
  );
  if (execMs === undefined || found === undefined) {
    throw new Error(`no restarted service within ${timeoutMs} ms of SIGKILL (new children seen: ${[...firstSeen.keys()].join(' ') || 'none'})`);
  }
  return { deadMs: deadMs ?? NaN, forkMs: firstSeen.get(found)!, execMs, newPid: found };
}

/** The service's process once it has exec'd `sleep`. */
function serviceProcess(sup: number): number {
  const deadline = performance.now() + 5000;
  while (performance.now() < deadline) {
    const kids = childrenOf(sup).filter((pid) => statOf(pid)?.state !== 'Z');
    if (kids.length === 1 && commOf(kids[0]) === 'sleep') return kids[0];
    sleepSync(1);
  }
  throw new Error(`supervisor ${sup} has no single running 'sleep' child`);
}

async function measure(o: Options): Promise<RestartResult> {
  const r: RestartResult = {
    busy: new Samples(),
    berth: figures(RESTART_FIGURES),
    baseline: figures(RESTART_FIGURES),
    s6: figures(RESTART_FIGURES),
    berthAll: new Samples(),
    baselineAll: new Samples(),
    s6All: new Samples(),
    berthAfterDead: new Samples(),
    baselineAfterDead: new Samples(),
    s6AfterDead: new Samples(),
    berthDelay: new Samples(),
  };
  for (let run = 0; run < o.runs; run++) {
    progress(`restart: run ${run + 1}/${o.runs}`);
    for (const name of besideBerth(['berth', 's6'] as const, run)) {
      const peer = peerUsable(o, name);
      if (!peer) continue;
      const f = r[name];
      r.busy.add(await waitQuiet());
      try {
        await withInstance(peer, longRuns(1, true), async (inst) => {
          const [up] = await inst.fifo.waitFor((e) => e.text.startsWith('up '), 1, UP_TIMEOUT_MS);
          const sup = peer.supervisorOf(inst.pid, 'svc000');
          if (sup === undefined) throw new Error('supervisor process not found');
          // the one-second rule: each kill comes after a run of 1.6 s (s6-supervise, as measured, still waits ~1 s)
          let startedAt = up.t;
          const forks: number[] = [];
          for (let k = 0; k < KILLS; k++) {
            await delay(Math.max(0, startedAt + KILL_AFTER_MS - performance.now()));
            const killedAt = performance.now();
            const s = killAndWatch(sup, serviceProcess(sup), 5000);
            startedAt = killedAt + s.forkMs;
            forks.push(s.forkMs);
            r[`${name}All`].add(s.forkMs);
            r[`${name}AfterDead`].add(s.forkMs - s.deadMs);
            if (k === 0) {
              f.fork.add(s.forkMs);
              f.dead.add(s.deadMs);
              f.exec.add(s.execMs);
            }
          }
          f.forkMax.add(Math.max(...forks));
          // a death right after the restart: the crash-loop path (Berth backs off 100 ms, s6 waits out 1 s)
          const second = killAndWatch(sup, serviceProcess(sup), 5000);
          f.fork2.add(second.forkMs);
          if (name === 'berth') {
            await delay(300); // killAndWatch blocked the event loop: let Berth's last log lines in
            r.berthDelay.add(longestDelay(inst.init.lines.map((l) => l.text), KILLS));
          }
        });
      } catch (err) {
        for (const k of RESTART_FIGURES) if (f[k].values.length <= run) f[k].add(NaN);
        warnings.push(`restart ${name} run ${run + 1}: ${(err as Error).message}`);
      }
    }
  }
  return r;
}

/** The longest of the first `count` delays in Berth's `restarting in N ms` lines; NaN if fewer were logged. */
function longestDelay(lines: string[], count: number): number {
  const delays = lines.flatMap((l) => /restarting in (\d+) ms/.exec(l)?.[1] ?? []).map(Number);
  return delays.length >= count ? Math.max(...delays.slice(0, count)) : NaN;
}

/** "k of n" values above `ms`. */
function over(s: Samples, ms: number): string {
  const v = s.values.filter((x) => Number.isFinite(x));
  return `${v.filter((x) => x > ms).length} of ${v.length}`;
}

function report(r: RestartResult, o: Options): Section {
  const fork = r.berth.fork.summary;
  const all = r.berthAll.summary;
  const s6 = absent(o, 's6');
  const lines = [
    `3. restart after SIGKILL of a restartOnFailure service: ${KILLS} kills per run, each ${KILL_AFTER_MS / 1000} s after the service (re)started`,
    "   (fork: kill -> new child of the supervisor in /proc; exec: -> it has exec'd the service's sleep)",
    busyLine(r.busy),
    `   ${label('berth')}first restart: fork ${fmt(fork, 'ms')}; exec ${fmt(r.berth.exec.summary, 'ms')}`,
    `   ${label('')}all ${KILLS} of every run: fork ${fmt(all, 'ms')}; slowest of a run ${fmt(r.berth.forkMax.summary, 'ms')}`,
    `   ${label('')}the same from the old process being a zombie (Berth's share): ${fmt(r.berthAfterDead.summary, 'ms')}`,
    `   ${label('')}over 5 ms: ${over(r.berthAll, 5)} from the kill, ${over(r.berthAfterDead, 5)} from the zombie; longest delay Berth logged for them: ${fmt(r.berthDelay.summary, 'ms', 0)}`,
    `   ${label('')}(the killed process was a zombie after ${fmt(r.berth.dead.summary, 'ms')}: the kernel's share)`,
    ...baselineRow(o, `first restart: fork ${fmt(r.baseline.fork.summary, 'ms')}; exec ${fmt(r.baseline.exec.summary, 'ms')}`, r.berth.fork.ratioTo(r.baseline.fork)),
    ...(o.baseline ? [`   ${label('')}all ${KILLS} of every run: fork ${fmt(r.baselineAll.summary, 'ms')}; slowest of a run ${fmt(r.baseline.forkMax.summary, 'ms')}; from the zombie ${fmt(r.baselineAfterDead.summary, 'ms')}`] : []),
    `   ${peerLine(o, 's6', `first restart: fork ${fmt(r.s6.fork.summary, 'ms')}; exec ${fmt(r.s6.exec.summary, 'ms')}   ${ratioText(r.berth.fork.ratioTo(r.s6.fork), 'berth/s6')}`)}`,
    ...(s6 ? [] : [`   ${label('')}all ${KILLS} of every run: fork ${fmt(r.s6All.summary, 'ms')}; slowest of a run ${fmt(r.s6.forkMax.summary, 'ms')}; from the zombie ${fmt(r.s6AfterDead.summary, 'ms')}`]),
    `   ${label('tini')}n/a (does not restart)`,
    `   a death right after a restart (crash loop): berth ${fmt(r.berth.fork2.summary, 'ms')}${o.baseline ? `; baseline ${fmt(r.baseline.fork2.summary, 'ms')}` : ''}; s6 ${s6 ?? fmt(r.s6.fork2.summary, 'ms')}`,
  ];
  const s6All = r.s6All.summary;
  const targets: Target[] = [
    {
      what: `${KILLS} SIGKILLs ${KILL_AFTER_MS / 1000} s apart: every restart`,
      target: '< 5 ms (issue #9)',
      berth: all ? `max ${num(all.max, 2)} ms, median ${num(all.median, 2)} ms` : 'no data',
      pass: all ? all.max < 5 : undefined,
      peers: `s6 ${s6 ?? (s6All ? `max ${num(s6All.max, 1)} ms, median ${num(s6All.median, 1)} ms` : 'no data')}`,
    },
  ];
  const vs = o.baseline && [versus('first restart after SIGKILL (fork)', r.berth.fork, r.baseline.fork, 'ms')];
  return { lines, targets, versus: vs || undefined };
}

export const restart: Benchmark<RestartResult> = { name: 'restart', measure, report };
