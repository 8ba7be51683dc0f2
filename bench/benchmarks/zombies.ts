// 5: N orphans exit at once with the init as PID 1; a pids cgroup counts
// zombies until they are reaped (lib/zombies.ts makes the orphans and the cgroup).
//   release: from the release until pids.current == 0 (every orphan exited and
//            reaped), which includes the kernel's cost of N exits;
//   piled:   the init is SIGSTOPped before the release; once every orphan is a
//            zombie it gets SIGCONT, and the time to none left is the reaper's alone.
// Each run takes the peers in a rotated order: none always goes first.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Benchmark, Target } from '../lib/benchmark.js';
import { warnings, withInstance } from '../lib/instance.js';
import { waitQuiet } from '../lib/machine.js';
import type { Peer } from '../lib/peers.js';
import { delay } from '../lib/pid1.js';
import { childrenOf, memoryOf, statOf } from '../lib/proc.js';
import { figures, fmt, num, rotated, Samples, type Summary } from '../lib/stats.js';
import { makeCgroup, pollUntil, prepareForker, release, type Cgroup, type Forker } from '../lib/zombies.js';
import { absent, peerUsable, type Options } from '../options.js';
import { busyLine, label, mbS, median, progress, ratioText } from '../report.js';

type Mode = 'release' | 'piled';

const ZOMBIE_FIGURES = ['release', 'releaseExited', 'releaseLag', 'piled', 'exitAll', 'rssAfter', 'wall'] as const;
/**
 * ms: release (to no zombie left), releaseExited (to the last exit), releaseLag (reaping after the
 * last exit), piled (SIGCONT to no zombie left), exitAll (the exits while the init was stopped);
 * rssAfter: PID-1 RSS (kB) after reaping; wall: seconds per run, making the orphans included.
 */
type ZombieFigures = Record<(typeof ZOMBIE_FIGURES)[number], Samples>;

export interface ZombieResult {
  busy: Samples;
  /** how the orphans were made (C clone, C fork, or perl) */
  forkerKind: string;
  berth: ZombieFigures;
  s6: ZombieFigures;
  tini: ZombieFigures;
}

const READY_TIMEOUT_MS = 240_000;
const cgroups = new Set<Cgroup>();
const scratchDirs = new Set<string>();

async function zombieRun(peer: Peer, forker: Forker, n: number, mode: Mode, f: ZombieFigures, tag: string): Promise<void> {
  const cg = makeCgroup(`berth-bench-${process.pid}-${tag}`);
  if (!cg) throw new Error('no pids cgroup could be created (needs root and a pids controller)');
  cgroups.add(cg);
  const workers = Math.max(1, Math.min(4, cpus().length));
  try {
    await withInstance(
      peer,
      ({ dir, fifo }) => {
        execFileSync('mkfifo', [join(dir, 'release')]);
        const args = `${cg.procs} ${n} ${workers} ${dir}/release ${fifo}`;
        return [{ name: 'work', script: `${forker.command.replace('%ARGS%', args)}; exec sleep infinity` }];
      },
      async (inst) => {
        const [ev] = await inst.fifo.waitFor((e) => /^(ready|failed)/.test(e.text), 1, READY_TIMEOUT_MS);
        if (!ev.text.startsWith('ready')) throw new Error(`forker: ${ev.text}`);
        // the forker itself is reaped by its shell; then only the holder and the n orphans are left
        if (pollUntil(() => cg.current() === n + 1, performance.now(), 10_000, 1) === undefined) {
          throw new Error(`expected ${n + 1} processes in the cgroup, found ${cg.current()}`);
        }
        const orphans = childrenOf(inst.pid).length;
        if (orphans < n) throw new Error(`only ${orphans} children of PID 1: the orphans were not re-parented to it`);
        if (mode === 'release') {
          const t0 = performance.now();
          release(join(inst.dir, 'release'));
          let exited: number | undefined;
          const reaped = pollUntil(
            () => {
              if (exited === undefined && cg.noLiveProcess()) exited = performance.now() - t0;
              return cg.current() === 0;
            },
            t0,
            60_000,
          );
          if (reaped === undefined) throw new Error(`${cg.current()} orphans still unreaped 60 s after the release`);
          f.release.add(reaped);
          f.releaseExited.add(exited ?? reaped);
          f.releaseLag.add(reaped - (exited ?? reaped));
        } else {
          process.kill(inst.pid, 'SIGSTOP');
          try {
            const t0 = performance.now();
            release(join(inst.dir, 'release'));
            const exited = pollUntil(() => cg.noLiveProcess(), t0, 60_000, 1);
            if (exited === undefined) throw new Error('orphans still alive 60 s after the release');
            f.exitAll.add(exited);
            await delay(50);
          } finally {
            process.kill(inst.pid, 'SIGCONT');
          }
          const t1 = performance.now();
          const reaped = pollUntil(() => cg.current() === 0, t1, 60_000);
          if (reaped === undefined) throw new Error(`${cg.current()} zombies still there 60 s after SIGCONT`);
          f.piled.add(reaped);
        }
        f.rssAfter.add(memoryOf(inst.pid)?.rssKb);
        const z = childrenOf(inst.pid).filter((pid) => statOf(pid)?.state === 'Z').length;
        if (z) warnings.push(`zombies ${peer.name} ${mode}: ${z} zombie children of PID 1 left although the cgroup is empty`);
      },
    );
  } finally {
    cg.remove();
    cgroups.delete(cg);
  }
}

async function measure(o: Options): Promise<ZombieResult> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-bench-forker-'));
  scratchDirs.add(dir);
  try {
    const forker = prepareForker(dir, o.orphans);
    const r: ZombieResult = { busy: new Samples(), forkerKind: forker.kind, berth: figures(ZOMBIE_FIGURES), s6: figures(ZOMBIE_FIGURES), tini: figures(ZOMBIE_FIGURES) };
    let k = 0;
    for (let run = 0; run < o.zombieRuns; run++) {
      for (const mode of ['release', 'piled'] as const) {
        for (const name of rotated(['berth', 's6', 'tini'] as const, run)) {
          const peer = peerUsable(o, name);
          if (!peer) continue;
          progress(`zombies: ${name}, ${mode}, ${o.zombies} orphans (run ${run + 1}/${o.zombieRuns})`);
          r.busy.add(await waitQuiet());
          const t = performance.now();
          try {
            await zombieRun(peer, forker, o.zombies, mode, r[name], String(k++));
          } catch (err) {
            // one value per run and mode, so berth and tini stay paired run by run
            r[name][mode].add(NaN);
            warnings.push(`zombies ${name} ${mode} run ${run + 1}: ${(err as Error).message}`);
          }
          r[name].wall.add((performance.now() - t) / 1000);
        }
      }
    }
    return r;
  } finally {
    rmSync(dir, { recursive: true, force: true });
    scratchDirs.delete(dir);
  }
}

function report(r: ZombieResult, o: Options): { lines: string[]; targets: Target[] } {
  const lines = [
    `5. ${o.zombies} orphans exit at once, init as PID 1 (${r.forkerKind}; pids cgroup: zombies count until reaped)`,
    "   release: from the release to no zombie left (includes the kernel's own exit work for every orphan)",
    '   piled:   init SIGSTOPped while they all exit; from SIGCONT to no zombie left (the reaper alone)',
    busyLine(r.busy),
  ];
  for (const name of ['berth', 's6', 'tini'] as const) {
    const a = absent(o, name);
    const f = r[name];
    lines.push(`   ${label(name)}${a ?? `release ${fmt(f.release.summary, 'ms')}`}`);
    if (!a) lines.push(`   ${label('')}        (last exit at ${fmt(f.releaseExited.summary, 'ms')}; reaped ${fmt(f.releaseLag.summary, 'ms')} after it)`);
    if (!a) lines.push(`   ${label('')}piled   ${fmt(f.piled.summary, 'ms')} (exits took ${fmt(f.exitAll.summary, 'ms')})`);
  }
  const rel = r.berth.release.ratioTo(r.tini.release);
  const pil = r.berth.piled.ratioTo(r.tini.piled);
  if (rel || pil) lines.push(`   berth/tini: ${ratioText(rel, 'release')}${rel && pil ? '; ' : ''}${ratioText(pil, 'piled')}`);
  lines.push(`   PID-1 RSS after reaping them: berth ${fmt(mbS(r.berth.rssAfter.summary), 'MB')}`);
  lines.push(`   wall time per run incl. making the orphans: berth ${fmt(r.berth.wall.summary, 's', 1)}`);

  // issue #11: no slower than tini in the same run, judged on the per-run ratio
  const tini = absent(o, 'tini');
  const row = (mode: 'release' | 'piled', ratio: Summary | undefined): Target => ({
    what: `${o.zombies} zombies gone (${mode})`,
    target: "<= tini's time (same run)",
    berth: `${median(r.berth[mode].summary, 'ms')}${ratio ? `, ${num(ratio.median, 2)}x tini` : ''}`,
    pass: ratio ? ratio.median <= 1 : undefined,
    peers: `tini ${tini ?? median(r.tini[mode].summary, 'ms')}, s6 ${absent(o, 's6') ?? median(r.s6[mode].summary, 'ms')}`,
  });
  const targets: Target[] = [row('release', rel), row('piled', pil)];
  return { lines, targets };
}

/** Removes the cgroups and scratch dirs of a run cut short by a signal. */
function cleanup(): void {
  for (const dir of scratchDirs) rmSync(dir, { recursive: true, force: true });
  for (const cg of cgroups) {
    try {
      cg.remove();
    } catch {
      // best effort
    }
  }
}

export const zombies: Benchmark<ZombieResult> = { name: 'zombies', measure, report, cleanup };
