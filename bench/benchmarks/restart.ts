// 3: restart latency. A restartOnFailure service is SIGKILLed 1.2 s after it
// started; the bench polls the supervisor's children in /proc until a new one
// has exec'd the service. tini does not restart, so only Berth and s6 run.
import { performance } from 'node:perf_hooks';
import type { Benchmark, Target } from '../lib/benchmark.js';
import { longRuns, UP_TIMEOUT_MS, warnings, withInstance } from '../lib/instance.js';
import { waitQuiet } from '../lib/machine.js';
import { delay } from '../lib/pid1.js';
import { childrenOf, commOf, sleepSync, statOf, tasksOf } from '../lib/proc.js';
import { figures, fmt, Samples } from '../lib/stats.js';
import { pollUntil } from '../lib/zombies.js';
import { absent, peerUsable, type Options } from '../options.js';
import { busyLine, label, median, peerLine, progress, ratioText } from '../report.js';

const RESTART_FIGURES = ['fork', 'dead', 'exec', 'fork2'] as const;
/**
 * fork: kill -> a new child of the supervisor in /proc; exec: -> it has exec'd the service;
 * dead: kill -> the old process is a zombie (the kernel's share, the same for every init);
 * fork2: the same as fork for a second death right after the restart (the crash-loop path). All ms.
 */
type RestartFigures = Record<(typeof RESTART_FIGURES)[number], Samples>;

export interface RestartResult {
  busy: Samples;
  berth: RestartFigures;
  s6: RestartFigures;
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
  const r: RestartResult = { busy: new Samples(), berth: figures(RESTART_FIGURES), s6: figures(RESTART_FIGURES) };
  for (let run = 0; run < o.runs; run++) {
    progress(`restart: run ${run + 1}/${o.runs}`);
    for (const name of ['berth', 's6'] as const) {
      const peer = peerUsable(o, name);
      if (!peer) continue;
      const f = r[name];
      r.busy.add(await waitQuiet());
      try {
        await withInstance(peer, longRuns(1, true), async (inst) => {
          const [up] = await inst.fifo.waitFor((e) => e.text.startsWith('up '), 1, UP_TIMEOUT_MS);
          // s6-supervise waits until 1 s after the previous spawn; kill after that so both measure the mechanism
          await delay(Math.max(0, up.t + 1200 - performance.now()));
          const sup = peer.supervisorOf(inst.pid, 'svc000');
          if (sup === undefined) throw new Error('supervisor process not found');
          const first = killAndWatch(sup, serviceProcess(sup), 5000);
          f.fork.add(first.forkMs);
          f.dead.add(first.deadMs);
          f.exec.add(first.execMs);
          // a second death right after the restart: the crash-loop path (Berth backs off 100 ms, s6 waits out 1 s)
          const second = killAndWatch(sup, serviceProcess(sup), 5000);
          f.fork2.add(second.forkMs);
        });
      } catch (err) {
        for (const k of RESTART_FIGURES) if (f[k].values.length <= run) f[k].add(NaN);
        warnings.push(`restart ${name} run ${run + 1}: ${(err as Error).message}`);
      }
    }
  }
  return r;
}

function report(r: RestartResult, o: Options): { lines: string[]; targets: Target[] } {
  const fork = r.berth.fork.summary;
  const s6 = absent(o, 's6');
  const lines = [
    '3. restart after SIGKILL of a restartOnFailure service, killed 1.2 s after it started',
    "   (fork: kill -> new child of the supervisor in /proc; exec: -> it has exec'd the service's sleep)",
    busyLine(r.busy),
    `   ${label('berth')}fork ${fmt(fork, 'ms')}; exec ${fmt(r.berth.exec.summary, 'ms')}`,
    `   ${label('')}(the killed process was a zombie after ${fmt(r.berth.dead.summary, 'ms')}: the kernel's share)`,
    `   ${peerLine(o, 's6', `fork ${fmt(r.s6.fork.summary, 'ms')}; exec ${fmt(r.s6.exec.summary, 'ms')}   ${ratioText(r.berth.fork.ratioTo(r.s6.fork), 'berth/s6')}`)}`,
    `   ${label('tini')}n/a (does not restart)`,
    `   a second death right after the restart (crash loop): berth ${fmt(r.berth.fork2.summary, 'ms')}; s6 ${s6 ?? fmt(r.s6.fork2.summary, 'ms')}`,
  ];
  const s6Fork = r.s6.fork.summary;
  const targets: Target[] = [
    {
      what: 'first restart',
      target: '< 5 ms',
      berth: median(fork, 'ms'),
      pass: fork ? fork.median < 5 : undefined,
      peers: `s6 ${s6 ?? (s6Fork ? `${median(s6Fork, 'ms')} (s6-supervise waits ~1 s before every restart)` : 'no data')}`,
    },
  ];
  return { lines, targets };
}

export const restart: Benchmark<RestartResult> = { name: 'restart', measure, report };
