// Berth benchmarks: `npm run bench` (build, then node dist/bench/run.js).
//
//   1. exec -> 100 long-runs up            4. idle CPU over 30 s, 10 services
//   2. PID-1 memory, 1/10/100 services      5. 10,000 orphans exit -> no zombie
//   3. restart latency after SIGKILL        6. the same against s6 and tini
//
// Every init runs as PID 1 of its own PID namespace
// (unshare --pid --fork --mount-proc --kill-child), in its own temp dir, and
// is killed (with its whole namespace) and removed afterwards. Method and
// results: docs/PERFORMANCE.md; peers and options: bench/README.md.
//
// Peers come from Debian: `apt-get update && apt-get install -y s6 tini`.
// A peer that is not installed is reported as "not installed".
// Needs root (unshare, a pids cgroup), mkfifo, and cc or perl (the orphan maker).
//
// Options: --quick (5 s CPU window, 3 runs, 1 orphan run), --runs N,
// --cpu-seconds S, --zombies N, --zombie-runs N, --orphans clone|fork,
// --only start,restart,cpu,zombies, --peers berth,s6,tini.
// BERTH_BENCH_NODE_FLAGS adds node flags to Berth's own
// (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof").
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, release as kernelRelease, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { longRuns, removeLiveDirs, startInstance, stopInstance, warnings, withInstance, type Instance } from './lib/instance.js';
import { PEERS, type Peer, type PeerName } from './lib/peers.js';
import { busyOver, waitQuiet } from './lib/machine.js';
import { delay, killAllPid1s } from './lib/pid1.js';
import { childrenOf, commOf, cpuTicks, memoryOf, memoryOfAll, schedNs, sleepSync, statOf, tasksOf } from './lib/proc.js';
import { fmt, mb, num, pairedRatios, summarise, verdict, type Summary } from './lib/stats.js';
import { makeCgroup, pollUntil, prepareForker, release, type Cgroup, type Forker, type OrphanKind } from './lib/zombies.js';

// ---------------------------------------------------------------- options

interface Options {
  runs: number;
  cpuSeconds: number;
  zombies: number;
  zombieRuns: number;
  orphans: OrphanKind;
  only: Set<string>;
  peers: Set<PeerName>;
}

const USAGE = `usage: node dist/bench/run.js [--quick] [--runs N] [--cpu-seconds S] [--zombies N] [--zombie-runs N]
                                [--orphans clone|fork] [--only start,restart,cpu,zombies] [--peers berth,s6,tini]`;

function parseOptions(argv: string[]): Options {
  const o: Options = {
    runs: 5,
    cpuSeconds: 30,
    zombies: 10_000,
    zombieRuns: 5,
    orphans: 'clone',
    only: new Set(['start', 'restart', 'cpu', 'zombies']),
    peers: new Set<PeerName>(['berth', 's6', 'tini', 'node']),
  };
  const quick = argv.includes('--quick');
  if (quick) Object.assign(o, { runs: 3, cpuSeconds: 5, zombieRuns: 1 });
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value\n${USAGE}`);
      return v;
    };
    const count = (min: number, max: number): number => {
      const n = Number(value());
      if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${a} must be a whole number from ${min} to ${max}`);
      return n;
    };
    if (a === '--quick') continue;
    else if (a === '--runs') o.runs = count(1, 50);
    else if (a === '--cpu-seconds') o.cpuSeconds = count(1, 600);
    else if (a === '--zombies') o.zombies = count(1, 20_000);
    else if (a === '--zombie-runs') o.zombieRuns = count(1, 10);
    else if (a === '--orphans') {
      const v = value();
      if (v !== 'clone' && v !== 'fork') throw new Error('--orphans must be clone or fork');
      o.orphans = v;
    }
    else if (a === '--only') o.only = new Set(value().split(',').map((s) => (s === 'memory' ? 'start' : s)));
    else if (a === '--peers') o.peers = new Set([...(value().split(',') as PeerName[]), 'berth', 'node']);
    else if (a === '--help' || a === '-h') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else throw new Error(`unknown option ${a}\n${USAGE}`);
  }
  for (const s of o.only) if (!['start', 'restart', 'cpu', 'zombies'].includes(s)) throw new Error(`--only: unknown benchmark '${s}'`);
  return o;
}

// ---------------------------------------------------------------- helpers

const out = (line = ''): boolean => process.stdout.write(`${line}\n`);
const progress = (line: string): boolean => process.stderr.write(`  … ${line}\n`);

const SETTLE_MS = 1500; // memory is read this long after the last service is up
const UP_TIMEOUT_MS = 30_000;

function peerUsable(o: Options, name: PeerName): Peer | undefined {
  const p = PEERS[name];
  return o.peers.has(name) && !p.missing ? p : undefined;
}

/** "not installed …" / "not selected" for a peer that will not run. */
function absent(o: Options, name: PeerName): string | undefined {
  if (!o.peers.has(name)) return 'not selected';
  return PEERS[name].missing;
}

function label(name: string): string {
  return name.padEnd(22);
}

class Series {
  private readonly data = new Map<string, number[]>();
  /** undefined/NaN is kept as NaN, so the values of two keys stay paired run by run */
  add(key: string, value: number | undefined): void {
    let arr = this.data.get(key);
    if (!arr) this.data.set(key, (arr = []));
    arr.push(value ?? NaN);
  }
  /** values in run order, NaN where a run produced nothing */
  raw(key: string): number[] {
    return this.data.get(key) ?? [];
  }
  get(key: string): Summary | undefined {
    return summarise(this.raw(key));
  }
}

function version(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 5000 }).trim().split('\n')[0];
  } catch {
    return 'unknown';
  }
}

// ---------------------------------------------------------------- 1 + 2: start time and memory

interface StartResults {
  s: Series;
  breakdown: Series;
}

async function benchStartAndMemory(o: Options): Promise<StartResults> {
  const s = new Series();
  const breakdown = new Series();
  const configs: Array<[PeerName, number]> = [
    ['berth', 100],
    ['s6', 100],
    ['berth', 10],
    ['s6', 10],
    ['berth', 1],
    ['s6', 1],
    ['tini', 1],
    ['node', 0],
  ];
  // memory barely varies between runs: the small configurations get at most 3
  const smallRuns = Math.min(3, o.runs);
  for (let run = 0; run < o.runs; run++) {
    progress(`start + memory: run ${run + 1}/${o.runs}`);
    for (const [name, n] of configs) {
      const peer = peerUsable(o, name);
      if (!peer || (n < 100 && run >= smallRuns)) continue;
      const key = `${name}:${n}`;
      s.add('busy', await waitQuiet());
      try {
        await withInstance(peer, longRuns(n), async (inst) => {
          const t0 = inst.init.t0;
          if (n > 0) {
            const ups = await inst.fifo.waitFor((e) => e.text.startsWith('up '), n, UP_TIMEOUT_MS);
            const last = Math.max(...ups.slice(0, n).map((e) => e.t));
            s.add(`up:${key}`, last - t0);
            await delay(Math.max(0, last + SETTLE_MS - performance.now()));
            if (name === 'berth') berthBreakdown(inst, n, breakdown, key);
          } else {
            await delay(SETTLE_MS + 100);
          }
          const m = memoryOf(inst.pid);
          s.add(`rss:${key}`, m?.rssKb);
          s.add(`pss:${key}`, m?.pssKb);
          const tree = memoryOfAll(peer.tree(inst.pid));
          s.add(`treeRss:${key}`, tree?.rssKb);
          s.add(`treePss:${key}`, tree?.pssKb);
        });
      } catch (err) {
        for (const k of ['up', 'rss', 'pss']) s.add(`${k}:${key}`, NaN);
        warnings.push(`start ${key} run ${run + 1}: ${(err as Error).message}`);
      }
    }
  }
  return { s, breakdown };
}

/** Where Berth's start-up time goes, from the arrival times of its own log lines. */
function berthBreakdown(inst: Instance, n: number, b: Series, key: string): void {
  const t0 = inst.init.t0;
  const lines = inst.init.lines;
  const at = (re: RegExp, nth = 1): number | undefined => {
    let seen = 0;
    for (const l of lines) if (re.test(l.text) && ++seen === nth) return l.t - t0;
    return undefined;
  };
  b.add(`${key}:init started`, at(/\binit started\b/));
  b.add(`${key}:first started`, at(/: started \(pid/));
  b.add(`${key}:last started`, at(/: started \(pid/, n));
  b.add(`${key}:all stages done`, at(/all stages done/));
}

// ---------------------------------------------------------------- 3: restart latency

interface RestartSample {
  /** kill -> the old process is a zombie (or gone): the kernel's part, the same for every init */
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

async function benchRestart(o: Options): Promise<Series> {
  const s = new Series();
  for (let run = 0; run < o.runs; run++) {
    progress(`restart: run ${run + 1}/${o.runs}`);
    for (const name of ['berth', 's6'] as const) {
      const peer = peerUsable(o, name);
      if (!peer) continue;
      s.add('busy', await waitQuiet());
      try {
        await withInstance(peer, longRuns(1, true), async (inst) => {
          const [up] = await inst.fifo.waitFor((e) => e.text.startsWith('up '), 1, UP_TIMEOUT_MS);
          // s6-supervise waits until 1 s after the previous spawn; kill after that so both measure the mechanism
          await delay(Math.max(0, up.t + 1200 - performance.now()));
          const sup = peer.supervisorOf(inst.pid, 'svc000');
          if (sup === undefined) throw new Error('supervisor process not found');
          const first = killAndWatch(sup, serviceProcess(sup), 5000);
          s.add(`fork:${name}`, first.forkMs);
          s.add(`dead:${name}`, first.deadMs);
          s.add(`exec:${name}`, first.execMs);
          // a second death right after the restart: the crash-loop path (Berth backs off 100 ms, s6 waits out 1 s)
          const second = killAndWatch(sup, serviceProcess(sup), 5000);
          s.add(`fork2:${name}`, second.forkMs);
        });
      } catch (err) {
        s.add(`fork:${name}`, NaN);
        warnings.push(`restart ${name} run ${run + 1}: ${(err as Error).message}`);
      }
    }
  }
  return s;
}

// ---------------------------------------------------------------- 4: idle CPU

interface CpuSnap {
  ticks: number;
  ns: number;
}

function cpuOf(pids: number[]): CpuSnap {
  let ticks = 0;
  let ns = 0;
  for (const pid of pids) {
    ticks += cpuTicks(pid) ?? 0;
    ns += schedNs(pid);
  }
  return { ticks, ns };
}

const CPU_INSTANCES = 3;

async function benchCpu(o: Options): Promise<Series> {
  const s = new Series();
  // berth with 1 and 100 services rides along for its memory once idle (after V8's post-start GCs)
  const plan: Array<[PeerName, number]> = [
    ['berth', 10],
    ['s6', 10],
    ['tini', 1],
    ['node', 0],
    ['berth', 1],
    ['berth', 100],
  ];
  const instances: Array<{ inst: Instance; key: string; n: number }> = [];
  progress(`idle CPU and memory: ${CPU_INSTANCES} of each init side by side, ${o.cpuSeconds} s window`);
  try {
    for (let i = 0; i < CPU_INSTANCES; i++) {
      for (const [name, n] of plan) {
        const peer = peerUsable(o, name);
        if (!peer) continue;
        const inst = await startInstance(peer, longRuns(n));
        instances.push({ inst, key: `${name}:${n}`, n });
        if (n > 0) await inst.fifo.waitFor((e) => e.text.startsWith('up '), n, UP_TIMEOUT_MS);
      }
    }
    await delay(2000); // start-up work (lazy compilation, first GC) is not idle
    const snap = (): CpuSnap[] => instances.map(({ inst }) => cpuOf(inst.peer.tree(inst.pid)));
    const pid1Snap = (): CpuSnap[] => instances.map(({ inst }) => cpuOf([inst.pid]));
    const before = pid1Snap();
    const treeBefore = snap();
    const t0 = performance.now();
    // sampled every second, to tell a one-off (a GC after start-up) from a steady cost
    const perSecond: CpuSnap[][] = [before];
    let half: CpuSnap[] = before;
    for (let sec = 1; sec <= o.cpuSeconds; sec++) {
      await delay(Math.max(0, t0 + sec * 1000 - performance.now()));
      perSecond.push(pid1Snap());
      if (sec === Math.floor(o.cpuSeconds / 2)) half = perSecond[perSecond.length - 1];
    }
    const seconds = (performance.now() - t0) / 1000;
    s.add('seconds', seconds);
    const after = perSecond[perSecond.length - 1];
    const treeAfter = snap();
    instances.forEach(({ inst, key }, i) => {
      s.add(`ticks:${key}`, after[i].ticks - before[i].ticks);
      s.add(`ms:${key}`, (after[i].ns - before[i].ns) / 1e6);
      s.add(`ms2:${key}`, (after[i].ns - half[i].ns) / 1e6);
      s.add(`activeSeconds:${key}`, perSecond.slice(1).filter((p, sec) => p[i].ns - perSecond[sec][i].ns > 100_000).length);
      s.add(`treeTicks:${key}`, treeAfter[i].ticks - treeBefore[i].ticks);
      s.add(`treeMs:${key}`, (treeAfter[i].ns - treeBefore[i].ns) / 1e6);
      const m = memoryOf(inst.pid);
      s.add(`rss:${key}`, m?.rssKb);
      s.add(`pss:${key}`, m?.pssKb);
    });
  } catch (err) {
    warnings.push(`idle CPU: ${(err as Error).message}`);
  } finally {
    await Promise.all(instances.map(({ inst }) => stopInstance(inst)));
  }
  return s;
}

// ---------------------------------------------------------------- 5: zombies

type ZombieMode = 'release' | 'piled';

const READY_TIMEOUT_MS = 240_000;
const cgroups = new Set<Cgroup>();
const scratchDirs = new Set<string>();

/**
 * release: time from the release until pids.current == 0 (every orphan exited and reaped) — the issue's figure;
 *          it includes the kernel's cost of 10,000 exits, which dominates on a slow VM.
 * piled:   the init is SIGSTOPped before the release; once every orphan is a zombie it gets SIGCONT, and the
 *          time from SIGCONT to pids.current == 0 is the reaper's alone.
 */
async function zombieRun(peer: Peer, forker: Forker, n: number, mode: ZombieMode, s: Series, tag: string): Promise<void> {
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
          s.add(`release:${peer.name}`, reaped);
          s.add(`releaseExited:${peer.name}`, exited ?? reaped);
          s.add(`releaseLag:${peer.name}`, reaped - (exited ?? reaped));
        } else {
          process.kill(inst.pid, 'SIGSTOP');
          try {
            const t0 = performance.now();
            release(join(inst.dir, 'release'));
            const exited = pollUntil(() => cg.noLiveProcess(), t0, 60_000, 1);
            if (exited === undefined) throw new Error('orphans still alive 60 s after the release');
            s.add(`exitAll:${peer.name}`, exited);
            await delay(50);
          } finally {
            process.kill(inst.pid, 'SIGCONT');
          }
          const t1 = performance.now();
          const reaped = pollUntil(() => cg.current() === 0, t1, 60_000);
          if (reaped === undefined) throw new Error(`${cg.current()} zombies still there 60 s after SIGCONT`);
          s.add(`piled:${peer.name}`, reaped);
        }
        s.add(`rssAfter:${peer.name}`, memoryOf(inst.pid)?.rssKb);
        const z = childrenOf(inst.pid).filter((pid) => statOf(pid)?.state === 'Z').length;
        if (z) warnings.push(`zombies ${peer.name} ${mode}: ${z} zombie children of PID 1 left although the cgroup is empty`);
      },
    );
  } finally {
    cg.remove();
    cgroups.delete(cg);
  }
}

async function benchZombies(o: Options): Promise<{ s: Series; forker: Forker }> {
  const s = new Series();
  const dir = mkdtempSync(join(tmpdir(), 'berth-bench-forker-'));
  scratchDirs.add(dir);
  try {
    const forker = prepareForker(dir, o.orphans);
    await zombieRuns(o, forker, s);
    return { s, forker };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    scratchDirs.delete(dir);
  }
}

async function zombieRuns(o: Options, forker: Forker, s: Series): Promise<void> {
  let k = 0;
  for (let run = 0; run < o.zombieRuns; run++) {
    for (const mode of ['release', 'piled'] as const) {
      for (const name of ['berth', 's6', 'tini'] as const) {
        const peer = peerUsable(o, name);
        if (!peer) continue;
        progress(`zombies: ${name}, ${mode}, ${o.zombies} orphans (run ${run + 1}/${o.zombieRuns})`);
        s.add('busy', await waitQuiet());
        const t = performance.now();
        try {
          await zombieRun(peer, forker, o.zombies, mode, s, String(k++));
        } catch (err) {
          s.add(`${mode}:${name}`, NaN);
          warnings.push(`zombies ${name} ${mode} run ${run + 1}: ${(err as Error).message}`);
        }
        s.add(`wall:${name}`, (performance.now() - t) / 1000);
      }
    }
  }
}

// ---------------------------------------------------------------- report

interface Target {
  what: string;
  target: string;
  berth: string;
  pass: boolean | undefined;
  peers: string;
}

function peerLine(o: Options, name: PeerName, value: string): string {
  return `${label(name)}${absent(o, name) ?? value}`;
}

function busyLine(s: Series): string {
  const b = s.get('busy');
  return b ? `   (machine busy in the 250 ms before each run: median ${num(b.median * 100, 0)}%, max ${num(b.max * 100, 0)}%)` : '';
}

function ratioText(r: Summary | undefined, what: string): string {
  return r ? `${what} ${num(r.median, 2)}x (per-run ratios: min ${num(r.min, 2)}, max ${num(r.max, 2)})` : '';
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const started = performance.now();
  const targets: Target[] = [];
  out(`Berth benchmarks — ${new Date().toISOString()}`);
  out(`machine: ${cpus().length} cores (${cpus()[0]?.model.trim() ?? '?'}), Linux ${kernelRelease()}, node ${process.version}`);
  out(`peers: s6 ${PEERS.s6.missing ? 'not installed' : version('dpkg-query', ['-W', '-f', '${Version}', 's6'])}, tini ${PEERS.tini.missing ? 'not installed' : version('tini', ['--version'])}`);
  out(`machine busy at start: ${num((await busyOver(1000)) * 100, 0)}% of all cores over 1 s (other work skews every figure; each timed run first waits up to 2 s for < 25%)`);
  out(`runs: ${o.runs} (100 services; at most 3 for 1 and 10); idle-CPU window: ${o.cpuSeconds} s; orphans: ${o.zombies} × ${o.zombieRuns} run(s) per mode`);
  if (PEERS.berth.missing) {
    out(`berth: ${PEERS.berth.missing}`);
    process.exitCode = 1;
    return;
  }

  if (o.only.has('start')) {
    const { s, breakdown } = await benchStartAndMemory(o);
    out();
    out('1. exec -> all 100 long-runs up (service: sh -c \'echo up $$ > FIFO; exec sleep infinity\'; last FIFO line arrival)');
    out(busyLine(s));
    const b = s.get('up:berth:100');
    out(`   ${label('berth')}${fmt(b, 'ms')}`);
    const r = summarise(pairedRatios(s.raw('up:berth:100'), s.raw('up:s6:100')));
    out(`   ${peerLine(o, 's6', `${fmt(s.get('up:s6:100'), 'ms')}   ${ratioText(r, 'berth/s6')}`)}`);
    out(`   ${label('tini')}n/a (runs one child)`);
    out('   berth, where the time goes (arrival of its own log lines, from exec):');
    for (const k of ['init started', 'first started', 'last started', 'all stages done']) {
      out(`     ${k.padEnd(18)}${fmt(breakdown.get(`berth:100:${k}`), 'ms')}`);
    }
    out(`   10 services: berth ${fmt(s.get('up:berth:10'), 'ms')}; s6 ${absent(o, 's6') ?? fmt(s.get('up:s6:10'), 'ms')}`);
    out(`    1 service:  berth ${fmt(s.get('up:berth:1'), 'ms')}; s6 ${absent(o, 's6') ?? fmt(s.get('up:s6:1'), 'ms')}; tini ${absent(o, 'tini') ?? fmt(s.get('up:tini:1'), 'ms')}`);
    targets.push({
      what: '100 services up',
      target: '< 300 ms',
      berth: b ? `${num(b.median)} ms` : 'no data',
      pass: b ? b.median < 300 : undefined,
      peers: `s6 ${absent(o, 's6') ?? (s.get('up:s6:100') ? `${num(s.get('up:s6:100')!.median)} ms` : 'no data')} (issue: ~580 ms)`,
    });

    out();
    out(`2. PID-1 memory, ${SETTLE_MS} ms after the last service is up (/proc/PID/smaps_rollup; MB = 1024 kB)`);
    const floorRss = s.raw('rss:node:0');
    const floorPss = s.raw('pss:node:0');
    out(`   ${label('bare node (floor)')}RSS ${fmt(mbS(s.get('rss:node:0')), 'MB')}; PSS ${fmt(mbS(s.get('pss:node:0')), 'MB')}`);
    for (const n of [1, 10, 100]) {
      const rr = summarise(pairedRatios(s.raw(`rss:berth:${n}`), floorRss));
      const pr = summarise(pairedRatios(s.raw(`pss:berth:${n}`), floorPss));
      out(`   ${label(`berth, ${n} service${n === 1 ? '' : 's'}`)}RSS ${fmt(mbS(s.get(`rss:berth:${n}`)), 'MB')} = ${rr ? num(rr.median, 2) : '?'}x floor; PSS ${fmt(mbS(s.get(`pss:berth:${n}`)), 'MB')} = ${pr ? num(pr.median, 2) : '?'}x floor`);
    }
    for (const n of [1, 10, 100]) {
      const a = absent(o, 's6');
      out(`   ${label(`s6, ${n} service${n === 1 ? '' : 's'}`)}${a ?? `s6-svscan RSS ${fmt(mbS(s.get(`rss:s6:${n}`)), 'MB', 2)}; with its s6-supervise: RSS ${fmt(mbS(s.get(`treeRss:s6:${n}`)), 'MB', 2)}, PSS ${fmt(mbS(s.get(`treePss:s6:${n}`)), 'MB', 2)}`}`);
    }
    out(`   ${peerLine(o, 'tini', `1 child: RSS ${fmt(mbS(s.get('rss:tini:1')), 'MB', 2)}; PSS ${fmt(mbS(s.get('pss:tini:1')), 'MB', 2)}; 10/100 n/a (one child)`)}`);
    const r100 = summarise(pairedRatios(s.raw('rss:berth:100'), floorRss));
    targets.push({
      what: 'memory, 100 services, +1.5 s',
      target: '< 1.3x bare node (RSS)',
      berth: r100 ? `${num(r100.median, 2)}x (${num(mb(s.get('rss:berth:100')!.median), 1)} MB)` : 'no data',
      pass: r100 ? r100.median < 1.3 : undefined,
      peers: `s6 tree ${absent(o, 's6') ?? (s.get('treeRss:s6:100') ? `${num(mb(s.get('treeRss:s6:100')!.median), 1)} MB` : 'no data')}`,
    });
  }

  if (o.only.has('restart')) {
    const s = await benchRestart(o);
    out();
    out('3. restart after SIGKILL of a restartOnFailure service, killed 1.2 s after it started');
    out('   (fork: kill -> new child of the supervisor in /proc; exec: -> it has exec\'d the service\'s sleep)');
    out(busyLine(s));
    const f = s.get('fork:berth');
    out(`   ${label('berth')}fork ${fmt(f, 'ms')}; exec ${fmt(s.get('exec:berth'), 'ms')}`);
    out(`   ${label('')}(the killed process was a zombie after ${fmt(s.get('dead:berth'), 'ms')}: the kernel's share)`);
    const r = summarise(pairedRatios(s.raw('fork:berth'), s.raw('fork:s6')));
    out(`   ${peerLine(o, 's6', `fork ${fmt(s.get('fork:s6'), 'ms')}; exec ${fmt(s.get('exec:s6'), 'ms')}   ${ratioText(r, 'berth/s6')}`)}`);
    out(`   ${label('tini')}n/a (does not restart)`);
    out(`   a second death right after the restart (crash loop): berth ${fmt(s.get('fork2:berth'), 'ms')}; s6 ${absent(o, 's6') ?? fmt(s.get('fork2:s6'), 'ms')}`);
    targets.push({
      what: 'first restart',
      target: '< 5 ms',
      berth: f ? `${num(f.median)} ms` : 'no data',
      pass: f ? f.median < 5 : undefined,
      peers: `s6 ${absent(o, 's6') ?? (s.get('fork:s6') ? `${num(s.get('fork:s6')!.median)} ms (s6-supervise waits ~1 s before every restart)` : 'no data')}`,
    });
  }

  if (o.only.has('cpu')) {
    const s = await benchCpu(o);
    const secs = s.get('seconds')?.median ?? o.cpuSeconds;
    out();
    out(`4. idle CPU of PID 1 over ${num(secs, 1)} s, 10 services (${CPU_INSTANCES} instances side by side, window from 2 s after all up; utime+stime in ticks of 10 ms, and exact ns from schedstat)`);
    for (const [name, n] of [['berth', 10], ['s6', 10], ['tini', 1], ['node', 0]] as const) {
      const key = `${name}:${n}`;
      const what = name === 'tini' ? ' (1 child)' : name === 'node' ? ' (bare node)' : '';
      const a = absent(o, name);
      const tree = name === 's6' ? `; with s6-supervise: ${fmt(s.get(`treeTicks:${key}`), 'ticks', 0)}, ${fmt(s.get(`treeMs:${key}`), 'ms')}` : '';
      out(`   ${label(name + what)}${a ?? `${fmt(s.get(`ticks:${key}`), 'ticks', 0)}; ${fmt(s.get(`ms:${key}`), 'ms CPU')}${tree}`}`);
      if (!a) out(`   ${label('')}second half of the window ${fmt(s.get(`ms2:${key}`), 'ms')}; seconds with > 0.1 ms CPU: ${fmt(s.get(`activeSeconds:${key}`), '', 0)}`);
    }
    out(`   PID-1 memory at the end of the window (idle ~${num(secs + 2, 0)} s; the floor measured alongside):`);
    const floor = s.raw('rss:node:0');
    out(`   ${label('bare node (floor)')}RSS ${fmt(mbS(s.get('rss:node:0')), 'MB')}; PSS ${fmt(mbS(s.get('pss:node:0')), 'MB')}`);
    for (const n of [1, 10, 100]) {
      const r = summarise(pairedRatios(s.raw(`rss:berth:${n}`), floor));
      out(`   ${label(`berth, ${n} service${n === 1 ? '' : 's'}`)}RSS ${fmt(mbS(s.get(`rss:berth:${n}`)), 'MB')} = ${r ? num(r.median, 2) : '?'}x floor; PSS ${fmt(mbS(s.get(`pss:berth:${n}`)), 'MB')}`);
    }
    const steady = summarise(pairedRatios(s.raw('rss:berth:100'), floor));
    targets.push({
      what: `memory, 100 services, idle`,
      target: '< 1.3x bare node (RSS)',
      berth: steady ? `${num(steady.median, 2)}x (${num(mb(s.get('rss:berth:100')!.median), 1)} MB)` : 'no data',
      pass: steady ? steady.median < 1.3 : undefined,
      peers: `after ~${num(secs + 2, 0)} s idle`,
    });
    const t = s.get('ticks:berth:10');
    const ms = s.get('ms:berth:10');
    targets.push({
      what: `idle CPU (${num(secs, 0)} s, 10 services)`,
      target: '~0 (<= 1 tick in every instance)',
      berth: t ? `${num(t.max, 0)} ticks max, ${ms ? num(ms.median, 2) : '?'} ms` : 'no data',
      pass: t ? t.max <= 1 : undefined,
      peers: `s6 ${absent(o, 's6') ?? (s.get('treeMs:s6:10') ? `${num(s.get('treeMs:s6:10')!.median, 2)} ms` : 'no data')}, bare node ${s.get('ms:node:0') ? `${num(s.get('ms:node:0')!.median, 2)} ms` : '?'}`,
    });
  }

  if (o.only.has('zombies')) {
    const { s, forker } = await benchZombies(o);
    out();
    out(`5. ${o.zombies} orphans exit at once, init as PID 1 (${forker.kind}; pids cgroup: zombies count until reaped)`);
    out('   release: from the release to no zombie left (includes the kernel\'s own exit work for every orphan)');
    out('   piled:   init SIGSTOPped while they all exit; from SIGCONT to no zombie left (the reaper alone)');
    out(busyLine(s));
    for (const name of ['berth', 's6', 'tini'] as const) {
      const a = absent(o, name);
      out(`   ${label(name)}${a ?? `release ${fmt(s.get(`release:${name}`), 'ms')}`}`);
      if (!a) out(`   ${label('')}        (last exit at ${fmt(s.get(`releaseExited:${name}`), 'ms')}; reaped ${fmt(s.get(`releaseLag:${name}`), 'ms')} after it)`);
      if (!a) out(`   ${label('')}piled   ${fmt(s.get(`piled:${name}`), 'ms')} (exits took ${fmt(s.get(`exitAll:${name}`), 'ms')})`);
    }
    const rel = summarise(pairedRatios(s.raw('release:berth'), s.raw('release:tini')));
    const pil = summarise(pairedRatios(s.raw('piled:berth'), s.raw('piled:tini')));
    if (rel || pil) out(`   berth/tini: ${ratioText(rel, 'release')}${rel && pil ? '; ' : ''}${ratioText(pil, 'piled')}`);
    out(`   PID-1 RSS after reaping them: berth ${fmt(mbS(s.get('rssAfter:berth')), 'MB')} (the addon that reaps them is in it)`);
    out(`   wall time per run incl. making the orphans: berth ${fmt(s.get('wall:berth'), 's', 1)}`);
    const z = s.get('release:berth');
    const p = s.get('piled:berth');
    targets.push({
      what: `${o.zombies} zombies gone (release)`,
      target: '< 80 ms',
      berth: z ? `${num(z.median)} ms` : 'no data',
      pass: z ? z.median < 80 : undefined,
      peers: `tini ${absent(o, 'tini') ?? (s.get('release:tini') ? `${num(s.get('release:tini')!.median)} ms` : 'no data')} (issue: ~73 ms)`,
    });
    targets.push({
      what: `${o.zombies} zombies gone (piled)`,
      target: '< 80 ms',
      berth: p ? `${num(p.median)} ms` : 'no data',
      pass: p ? p.median < 80 : undefined,
      peers: `tini ${absent(o, 'tini') ?? (s.get('piled:tini') ? `${num(s.get('piled:tini')!.median)} ms` : 'no data')}, s6 ${absent(o, 's6') ?? (s.get('piled:s6') ? `${num(s.get('piled:s6')!.median)} ms` : 'no data')}`,
    });
  }

  out();
  out('Targets (Berth medians)');
  for (const t of targets) out(`   ${verdict(t.pass)}  ${t.what.padEnd(30)} ${t.target.padEnd(33)} berth ${t.berth.padEnd(22)} ${t.peers}`);
  if (warnings.length) {
    out();
    out('Warnings');
    for (const w of warnings) out(`   - ${w.replace(/\n/g, '\n     ')}`);
  }
  out();
  out(`done in ${num((performance.now() - started) / 1000, 0)} s; machine busy at end: ${num((await busyOver(1000)) * 100, 0)}%`);
}

function mbS(s: Summary | undefined): Summary | undefined {
  return s && { ...s, median: mb(s.median), min: mb(s.min), max: mb(s.max) };
}

function cleanupAll(): void {
  killAllPid1s();
  removeLiveDirs();
  for (const dir of scratchDirs) rmSync(dir, { recursive: true, force: true });
  for (const cg of cgroups) {
    try {
      cg.remove();
    } catch {
      // best effort
    }
  }
}

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    process.stderr.write(`\nbench: ${sig}, cleaning up\n`);
    cleanupAll();
    process.exit(130);
  });
}

main().then(
  () => {
    cleanupAll();
  },
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
    cleanupAll();
    process.exitCode = 1;
  },
);
