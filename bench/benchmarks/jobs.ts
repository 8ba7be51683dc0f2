// 10: scheduled jobs (#25), Berth beside Debian's cron and busybox crond.
// Every scheduler runs as PID 1 of its own PID namespace; cron and crond in a
// mount namespace of their own too, with an empty tmpfs over /var/spool/cron
// (busybox crond writes mail files there whatever -c says), and for Debian's
// cron over /etc/cron.d and /run with its crontab bound over /etc/crontab: the
// machine's crontabs are neither read nor touched. busybox crond reads a temp
// dir (-c).
//   due → exec: one job a minute in each scheduler, side by side through
//     the same --job-minutes minutes: Berth twice, the job as an `execStart`
//     (Berth execs it itself, `* * * * *`) and as a `script` (through /bin/sh
//     -c, as cron and crond run every job; `40 * * * * *`, due 40 s into the
//     minute so that the two inits do not wake at once on a small machine),
//     and the C floor (FLOOR_C, exec'd 20 s into each minute). A job is a
//     tiny C program (perl without cc) that first reads CLOCK_REALTIME and
//     appends it to a file; its delay is that time minus its due time (cron
//     and crond wake later than :00, so they never run at once with Berth's
//     execStart). Then, for more samples, Berth
//     alone with a `* * * * * *` job (each form), and BURST of them, each
//     over 10 × --job-minutes seconds, beside the C floor (FLOOR_C) doing the
//     same at each second: what no scheduler can beat on this machine.
//   idle CPU with 1,000 jobs due far away (`0 3 1 1 *`), each scheduler over
//     --cpu-seconds, the window centred on a minute boundary (cron and
//     crond wake every minute).
//   memory per job: PID-1 RSS, PSS and USS with 1,000 jobs against none, 5 s
//     after up, each Berth with one long-run (sleep): identical schedules,
//     1,000 distinct ones, `@every 1000h`, and identical ones in a zone
//     with DST (timezone: Europe/Paris); each against one job too (what a
//     job costs beyond the first); cron and crond with 1,000
//     crontab lines against none. All side by side, in each of up to 3 rounds.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Benchmark, Section, Target } from '../lib/benchmark.js';
import { warnings } from '../lib/instance.js';
import { baseEnv, berthLaunch, findProgram, PEERS, type Launch } from '../lib/peers.js';
import { delay, Pid1 } from '../lib/pid1.js';
import { commOf, cpuOf, memoryOf } from '../lib/proc.js';
import { figures, fmt, num, quantile, Samples, summarise, type Summary } from '../lib/stats.js';
import type { Options } from '../options.js';
import { label, progress } from '../report.js';

/** identical jobs due at once in the burst runs */
const BURST = 20;
/** jobs for idle CPU and memory */
const MANY = 1000;
/** a scheduler is up this long before the first minute it is timed at */
const LEAD_MS = 5000;
/** memory is read this long after up */
const SETTLE_MS = 5000;
/** how late the last run of a minute may come before the run counts as missing */
const TAIL_MS = 15_000;
const UP_TIMEOUT_MS = 30_000;
const FAR = '0 3 1 1 *';
/** a zone with DST: croner formats through Intl for it (UTC it does as an offset) */
const ZONE = 'Europe/Paris';

const CRON = findProgram('cron');
const BUSYBOX = findProgram('busybox');
const MOUNT = findProgram('mount');
let hasCrond: boolean | undefined;
/** Debian's `busybox` package has no crond applet; `busybox-static` has. Asked once, when this benchmark runs. */
function busyboxHasCrond(): boolean {
  hasCrond ??= !!BUSYBOX && (spawnSync(BUSYBOX, ['--list'], { encoding: 'utf8', timeout: 5000 }).stdout ?? '').split('\n').includes('crond');
  return hasCrond;
}

const KINDS = ['berth', 'cron', 'crond'] as const;
type Kind = (typeof KINDS)[number];
const NAMES: Record<Kind, string> = { berth: 'berth', cron: 'cron (Debian)', crond: 'busybox crond' };
/** the schedulers of the every-minute runs: Berth twice, its job run through /bin/sh -c (`berth`) and exec'd (`berthExec`); the C floor */
const TIMED = ['berthExec', 'berth', 'cron', 'crond', 'floor'] as const;
type Timed = (typeof TIMED)[number];
const TIMED_NAMES: Record<Timed, string> = { ...NAMES, berth: 'berth, script (sh -c)', berthExec: 'berth, execStart', floor: 'C floor, exec' };
/** seconds into each minute the every-minute job of each is due */
const DUE_SECOND: Record<Timed, number> = { berthExec: 0, berth: 40, cron: 0, crond: 0, floor: 20 };
const kindOf = (t: Exclude<Timed, 'floor'>): Kind => (t === 'berthExec' ? 'berth' : t);
/** the every-second runs: Berth alone, and the C floor doing the same */
const SECONDS_CASES = ['script', 'exec', 'burst', 'floorSh', 'floorExec', 'floorBurst'] as const;
type SecondsCase = (typeof SECONDS_CASES)[number];
const SECONDS_NAMES: Record<SecondsCase, string> = {
  script: 'berth, 1 script',
  exec: 'berth, 1 execStart',
  burst: `berth, ${BURST} scripts`,
  floorSh: 'C floor, 1 sh -c',
  floorExec: 'C floor, 1 exec',
  floorBurst: `C floor, ${BURST} sh -c`,
};

function missing(kind: Kind): string | undefined {
  if (kind === 'berth') return PEERS.berth.missing;
  if (!MOUNT) return 'no mount(8) to give it a private /var/spool/cron';
  if (kind === 'cron') return CRON ? undefined : 'not installed (apt-get install -y cron)';
  if (!BUSYBOX) return 'not installed (apt-get install -y busybox-static)';
  return busyboxHasCrond() ? undefined : `not installed: ${BUSYBOX} has no crond applet (Debian's busybox has none: apt-get install -y busybox-static)`;
}

const MEMORY_CASES = ['berth0', 'one', 'oneZone', 'identical', 'distinct', 'every', 'zone', 'cron0', 'cron', 'crond0', 'crond'] as const;
type MemoryCase = (typeof MEMORY_CASES)[number];
const MEMORY_FIGURES = ['rss', 'pss', 'uss'] as const;
type MemoryFigures = Record<(typeof MEMORY_FIGURES)[number], Samples>;
/** each case with 1,000 jobs, against the one with none, and (Berth) the one with one job: what a job costs beyond the first */
const PER_JOB: Array<[MemoryCase, MemoryCase, MemoryCase | undefined, string]> = [
  ['identical', 'berth0', 'one', 'berth, 1,000 same'],
  ['distinct', 'berth0', 'one', 'berth, 1,000 distinct'],
  ['every', 'berth0', 'one', 'berth, 1,000 @every'],
  ['zone', 'berth0', 'oneZone', 'berth, 1,000 in a zone'],
  ['cron', 'cron0', undefined, 'cron, 1,000 lines'],
  ['crond', 'crond0', undefined, 'busybox crond, 1,000'],
];

export interface JobsResult {
  /** how the job timed itself */
  stamp: string;
  minutes: number;
  /** due → exec in ms of the every-minute job, one per run; `expected` runs were scheduled */
  delay: Record<Timed, { ms: Samples; expected: number }>;
  /** the every-second runs (the floor's: expected 0 without a C compiler); firstMs: the first run of each second */
  everySecond: Record<SecondsCase, { ms: Samples; firstMs: Samples; expected: number }>;
  seconds: number;
  /** idle CPU over the window: ticks, ms, and seconds of it with > 0.1 ms CPU */
  idle: Record<Kind, { ticks: Samples; ms: Samples; activeSeconds: Samples }>;
  idleSeconds: number;
  /** the minute boundary inside the idle window, or undefined */
  idleBoundary?: string;
  /** PID-1 memory (kB) per case, one value per round */
  memory: Record<MemoryCase, MemoryFigures>;
}

interface Job {
  name: string;
  schedule: string;
  command: string;
  /** Berth only: the command as an `execStart` argv instead of a `script` */
  exec?: string[];
  /** Berth only: its `timezone` */
  timezone?: string;
}

interface Running {
  kind: Kind;
  init: Pid1;
  dir: string;
}

/** Scratch dirs and inits under way, for ^C. */
const live = new Set<{ init?: Pid1; dir: string }>();

function scratch(what: string): { init?: Pid1; dir: string } {
  const run = { dir: mkdtempSync(join(tmpdir(), `berth-bench-jobs-${what}-`)) };
  live.add(run);
  return run;
}

function cleanup(): void {
  for (const run of live) {
    run.init?.killNow();
    rmSync(run.dir, { recursive: true, force: true });
  }
  live.clear();
}

const STAMP_C = String.raw`#include <fcntl.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
/* stamp FILE ID: appends "ID SECONDS NANOSECONDS" of CLOCK_REALTIME, read first thing */
int main(int argc, char **argv) {
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  if (argc != 3) return 2;
  char b[128];
  int n = snprintf(b, sizeof b, "%s %lld %09ld\n", argv[2], (long long)t.tv_sec, t.tv_nsec);
  int fd = open(argv[1], O_WRONLY | O_APPEND | O_CREAT, 0644);
  return fd >= 0 && write(fd, b, (size_t)n) == n ? 0 : 1;
}
`;

/**
 * The floor of due → exec on this machine: sleeps to each due second
 * (clock_nanosleep, TIMER_ABSTIME) and posix_spawns `/bin/sh -c "STAMP FILE i"`
 * (or STAMP itself, `exec`) N times, then reaps; what no scheduler that
 * forks a shell (or execs the job) can beat.
 */
const FLOOR_C = String.raw`#define _GNU_SOURCE
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
extern char **environ;
/* floor N TIMES STEP OFFSET sh|exec STAMP FILE: at the next TIMES whole seconds that are OFFSET into a STEP */
int main(int argc, char **argv) {
  if (argc != 8) return 2;
  int n = atoi(argv[1]), times = atoi(argv[2]), step = atoi(argv[3]), offset = atoi(argv[4]), sh = argv[5][0] == 's';
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  time_t due = t.tv_sec - t.tv_sec % step + offset;
  for (int k = 0; k < times; k++) {
    while (due <= t.tv_sec) due += step;
    struct timespec at = {due, 0};
    t.tv_sec = due;
    while (clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &at, NULL)) {}
    for (int i = 0; i < n; i++) {
      char cmd[4096], id[16];
      snprintf(cmd, sizeof cmd, "%s %s %d", argv[6], argv[7], i);
      snprintf(id, sizeof id, "%d", i);
      char *viaSh[] = {"/bin/sh", "-c", cmd, NULL}, *direct[] = {argv[6], argv[7], id, NULL};
      pid_t pid;
      if (posix_spawn(&pid, sh ? "/bin/sh" : argv[6], NULL, NULL, sh ? viaSh : direct, environ)) return 1;
    }
    while (wait(NULL) > 0) {}
  }
  return 0;
}
`;

/** The command a job runs: `PREFIX FILE ID` appends its start time to FILE. No `%` in it (cron reads that as a newline). */
function stampCommand(dir: string): { prefix: string; what: string; floor?: string; program?: string } {
  try {
    writeFileSync(join(dir, 'stamp.c'), STAMP_C);
    execFileSync('cc', ['-O2', '-o', join(dir, 'stamp'), join(dir, 'stamp.c')], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 });
    writeFileSync(join(dir, 'floor.c'), FLOOR_C);
    execFileSync('cc', ['-O2', '-o', join(dir, 'floor'), join(dir, 'floor.c')], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 });
    return { prefix: join(dir, 'stamp'), what: 'a C program, clock_gettime(CLOCK_REALTIME) first thing', floor: join(dir, 'floor'), program: join(dir, 'stamp') };
  } catch {
    const perl = `perl -MTime::HiRes=clock_gettime -e 'my $t = clock_gettime(0); open my $f, ">>", $ARGV[0] or exit 1; print $f "$ARGV[1] ", int($t), " ", int(($t - int($t)) * 1e9), "\\n"'`;
    return { prefix: perl, what: 'perl (no C compiler): Time::HiRes after perl starts, a few ms late' };
  }
}

function berthManifest(jobs: Job[], sleeper: boolean): object {
  const services: Record<string, object> = {};
  if (sleeper) services.sleeper = { script: 'echo sleeper-is-up; exec sleep infinity' };
  for (const j of jobs) services[j.name] = { type: 'scheduled', schedule: j.schedule, ...(j.exec ? { execStart: j.exec } : { script: j.command }), ...(j.timezone ? { timezone: j.timezone } : {}) };
  return { version: 1, services };
}

/** What runs as PID 1 for `kind` with `jobs`, its files under `dir`. */
function launchOf(kind: Kind, dir: string, jobs: Job[], sleeper: boolean): Launch {
  if (kind === 'berth') return berthLaunch(dir, berthManifest(jobs, sleeper));
  const env = baseEnv();
  // a mount namespace of its own (tmpfs over the machine's spool; for cron, /etc/cron.d and /run too): neither
  // reads the machine's crontabs, and what it writes there (busybox crond's mail files) goes with the namespace
  const mounts = ['set -e', 'mount --make-rprivate /', 'mount -t tmpfs -o mode=0755 berth-bench /var/spool/cron', 'mkdir -m 1730 /var/spool/cron/crontabs'];
  if (kind === 'crond') {
    // no MAILTO: busybox crond takes even an empty one as an address and writes each run's mail file
    mkdirSync(join(dir, 'crontabs'));
    writeFileSync(join(dir, 'crontabs', 'root'), `SHELL=/bin/sh\nPATH=${env.PATH}\n` + jobs.map((j) => `${j.schedule} ${j.command}\n`).join(''), { mode: 0o600 });
    mounts.push(`exec ${BUSYBOX} crond -f -c ${join(dir, 'crontabs')} -L ${join(dir, 'crond.log')}`);
    return { argv: ['/bin/sh', '-c', mounts.join('\n')], env };
  }
  // /etc/crontab's format (a user field), bound over the machine's
  const crontab = join(dir, 'crontab');
  writeFileSync(crontab, `SHELL=/bin/sh\nPATH=${env.PATH}\nMAILTO=""\n` + jobs.map((j) => `${j.schedule} root ${j.command}\n`).join(''), { mode: 0o644 });
  mounts.push(
    'mount -t tmpfs -o mode=0755 berth-bench /etc/cron.d',
    'mount -t tmpfs -o mode=0755 berth-bench /run', // cron's pid file and lock
    `mount --bind ${crontab} /etc/crontab`,
    `exec ${CRON} -f`,
  );
  return { argv: ['/bin/sh', '-c', mounts.join('\n')], env };
}

/** `kind` as PID 1 with `jobs`; resolves once it has them (Berth: every job armed and the sleeper up). */
async function startScheduler(kind: Kind, jobs: Job[], sleeper = false): Promise<Running> {
  const run = scratch(kind);
  const launch = launchOf(kind, run.dir, jobs, sleeper);
  const init = new Pid1(launch.argv, launch.env, run.dir);
  run.init = init;
  const running = { kind, init, dir: run.dir };
  try {
    const pid = await init.pidAsync();
    if (kind === 'berth') {
      if (jobs.length) await init.waitForLines((t) => t.includes(': waiting for its schedule'), jobs.length, UP_TIMEOUT_MS);
      if (sleeper) await init.waitForLines((t) => t.includes('sleeper-is-up'), 1, UP_TIMEOUT_MS);
    } else {
      // cron has no readiness to wait for: PID 1 is it (past the mounts), and has read its crontab
      const comm = kind === 'cron' ? 'cron' : 'busybox';
      const deadline = Date.now() + UP_TIMEOUT_MS;
      while (commOf(pid) !== comm) {
        if (!init.running || Date.now() > deadline) throw new Error(`${kind} did not start:\n${init.output()}`);
        await delay(20);
      }
      await delay(300);
      if (!init.running) throw new Error(`${kind} exited:\n${init.output()}`);
    }
    return running;
  } catch (err) {
    await stopScheduler(running);
    throw err;
  }
}

async function stopScheduler(r: Running): Promise<void> {
  const graceful = await r.init.stop(r.kind === 'berth' ? 'SIGTERM' : 'SIGKILL', 5000);
  if (!graceful && r.kind === 'berth') warnings.push(`jobs: berth did not exit within 5 s of SIGTERM; it was SIGKILLed`);
  rmSync(r.dir, { recursive: true, force: true });
  for (const run of live) if (run.dir === r.dir) live.delete(run);
}

/** `n` jobs on `schedule` (a function of the job's index) that stamp into `file`; `program`: as an execStart of it. */
function jobsOf(n: number, schedule: (i: number) => string, stamp: string, file: string, program?: string): Job[] {
  return Array.from({ length: n }, (_, i) => ({
    name: `job${String(i).padStart(4, '0')}`,
    schedule: schedule(i),
    command: `${stamp} ${file} ${i}`,
    ...(program ? { exec: [program, file, String(i)] } : {}),
  }));
}

/** The stamps in `file`: [seconds, nanoseconds] each. */
function stampsOf(file: string): Array<[number, number]> {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'latin1')
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length === 3)
    .map((f): [number, number] => [Number(f[1]), Number(f[2])]);
}

function clock(ms: number): string {
  return new Date(ms).toISOString().slice(11, 19);
}

/** Waits until every file has `count` stamps in `minutes`, or `untilMs` (wall clock) passes. */
async function waitForStamps(files: string[], minutes: number[], count: number, untilMs: number): Promise<void> {
  const inMinutes = (f: string): number => stampsOf(f).filter(([sec]) => minutes.includes(Math.floor(sec / 60) * 60_000)).length;
  while (Date.now() < untilMs) {
    if (Date.now() > minutes[minutes.length - 1] && files.every((f) => inMinutes(f) >= count)) return;
    await delay(250);
  }
}

/** Why one of the every-minute runs cannot run here, or undefined. */
function missingTimed(t: Timed, floorProgram: string | undefined, program: string | undefined): string | undefined {
  if (t === 'floor') return floorProgram && program ? undefined : 'not run (no C compiler)';
  if (t === 'berthExec' && !program) return 'not run (no C compiler)';
  return missing(kindOf(t));
}

/** 1. One job a minute in each scheduler (Berth: an execStart and a script) and the C floor, side by side, over `o.jobMinutes` minutes. */
async function dueToExec(o: Options, r: JobsResult, stamp: string, program: string | undefined, floorProgram: string | undefined): Promise<void> {
  const timed = TIMED.filter((t) => !missingTimed(t, floorProgram, program));
  // the stamps go outside the scheduler's dir, which is made with it
  const out = scratch('stamps');
  const fileOf = (t: Timed): string => join(out.dir, t);
  const running: Array<[Timed, Running]> = [];
  let floorRun: ChildProcess | undefined;
  try {
    for (const t of timed) {
      if (t === 'floor') continue;
      const schedule = DUE_SECOND[t] ? `${DUE_SECOND[t]} * * * * *` : '* * * * *';
      running.push([t, await startScheduler(kindOf(t), jobsOf(1, () => schedule, stamp, fileOf(t), t === 'berthExec' ? program : undefined))]);
    }
    const first = Math.ceil((Date.now() + LEAD_MS) / 60_000) * 60_000;
    const minutes = Array.from({ length: o.jobMinutes }, (_, k) => first + k * 60_000);
    if (timed.includes('floor')) {
      floorRun = spawn(floorProgram!, ['1', String(o.jobMinutes + 1), '60', String(DUE_SECOND.floor), 'exec', program!, fileOf('floor')], { stdio: 'ignore' });
    }
    progress(`jobs: due → exec, one job × ${o.jobMinutes} minute(s) in ${timed.join(', ')} side by side, from ${clock(first)} UTC (in ${num((first - Date.now()) / 1000, 0)} s)`);
    await waitForStamps(timed.map(fileOf), minutes, o.jobMinutes, minutes[minutes.length - 1] + 60_000 + TAIL_MS);
    for (const [t, x] of running) {
      if (!x.init.running) warnings.push(`jobs: ${t} exited during the due → exec runs:\n${x.init.output().split('\n').slice(-5).join('\n')}`);
    }
    for (const t of timed) {
      const d = r.delay[t];
      d.expected = o.jobMinutes;
      for (const [sec, ns] of stampsOf(fileOf(t))) {
        const minute = Math.floor(sec / 60) * 60_000;
        // a minute before the first (the scheduler was up early) or after the last does not count
        if (minutes.includes(minute)) d.ms.add(sec * 1000 - minute - DUE_SECOND[t] * 1000 + ns / 1e6);
      }
    }
  } catch (err) {
    warnings.push(`jobs due → exec: ${(err as Error).message}`);
  } finally {
    floorRun?.kill('SIGKILL');
    await Promise.all(running.map(([, x]) => stopScheduler(x)));
    rmSync(out.dir, { recursive: true, force: true });
    live.delete(out);
  }
}

/** 1b. Berth alone with `n` `* * * * * *` jobs (execStarts of `program`, else scripts) over `seconds` whole seconds. */
async function everySecond(into: JobsResult['everySecond'][SecondsCase], stamp: string, seconds: number, n: number, program?: string): Promise<void> {
  const out = scratch('stamps-berth-s');
  const file = join(out.dir, 'stamps');
  let x: Running | undefined;
  try {
    x = await startScheduler('berth', jobsOf(n, () => '* * * * * *', stamp, file, program));
    const first = Math.ceil(Date.now() / 1000) + 1;
    progress(`jobs: berth, ${n} ${program ? 'execStart' : 'script'} job(s) '* * * * * *' over ${seconds} s`);
    await delay((first + seconds) * 1000 - Date.now() + 2000);
    into.expected = n * seconds;
    bySecond(stampsOf(file), first, seconds, into);
  } catch (err) {
    warnings.push(`jobs every second: ${(err as Error).message}`);
  } finally {
    if (x) await stopScheduler(x);
    rmSync(out.dir, { recursive: true, force: true });
    live.delete(out);
  }
}

/** Delays into `into` of the stamps in seconds [first, first + seconds). */
function bySecond(stamps: Array<[number, number]>, first: number, seconds: number, into: { ms: Samples; firstMs: Samples }): void {
  const each = new Map<number, number[]>();
  for (const [sec, ns] of stamps) {
    if (sec < first || sec >= first + seconds) continue;
    into.ms.add(ns / 1e6);
    each.set(sec, [...(each.get(sec) ?? []), ns / 1e6]);
  }
  for (const ms of each.values()) into.firstMs.add(Math.min(...ms));
}

/** 1c. The floor: the C program, as an ordinary process, `n` runs (through sh, or exec'd) each second. */
async function floor(into: JobsResult['everySecond'][SecondsCase], program: string, stamp: string, seconds: number, n: number, sh: boolean): Promise<void> {
  const out = scratch('stamps-floor');
  const file = join(out.dir, 'stamps');
  try {
    progress(`jobs: the C floor, ${n} run(s) ${sh ? 'through sh -c' : 'exec\'d'} each second over ${seconds} s`);
    const first = Math.ceil(Date.now() / 1000) + 2;
    const res = spawnSync(program, [String(n), String(seconds + 1), '1', '0', sh ? 'sh' : 'exec', stamp, file], { stdio: 'ignore', timeout: (seconds + 10) * 1000 });
    if (res.status !== 0) throw new Error(`exited with ${res.status ?? res.signal}`);
    into.expected = n * seconds;
    bySecond(stampsOf(file), first, seconds, into);
  } catch (err) {
    warnings.push(`jobs floor: ${(err as Error).message}`);
  } finally {
    rmSync(out.dir, { recursive: true, force: true });
    live.delete(out);
  }
}

/** The jobs of one memory case (none run while it is measured). */
function memoryJobs(c: MemoryCase, stamp: string): { kind: Kind; jobs: Job[]; sleeper: boolean } {
  const file = '/dev/null';
  switch (c) {
    case 'berth0':
      return { kind: 'berth', jobs: [], sleeper: true };
    case 'one':
      return { kind: 'berth', jobs: jobsOf(1, () => FAR, stamp, file), sleeper: true };
    case 'oneZone':
      return { kind: 'berth', jobs: jobsOf(1, () => FAR, stamp, file).map((j) => ({ ...j, timezone: ZONE })), sleeper: true };
    case 'identical':
      return { kind: 'berth', jobs: jobsOf(MANY, () => FAR, stamp, file), sleeper: true };
    case 'distinct':
      return { kind: 'berth', jobs: jobsOf(MANY, (i) => `${i % 60} ${i % 24} ${1 + (i % 28)} * *`, stamp, file), sleeper: true };
    case 'every':
      return { kind: 'berth', jobs: jobsOf(MANY, () => '@every 1000h', stamp, file), sleeper: true };
    case 'zone':
      return { kind: 'berth', jobs: jobsOf(MANY, () => FAR, stamp, file).map((j) => ({ ...j, timezone: ZONE })), sleeper: true };
    case 'cron0':
    case 'crond0':
      return { kind: c === 'cron0' ? 'cron' : 'crond', jobs: [], sleeper: false };
    default:
      return { kind: c, jobs: jobsOf(MANY, () => FAR, stamp, file), sleeper: false };
  }
}

/** 3. Every memory case side by side, `rounds` times. */
async function memory(rounds: number, r: JobsResult, stamp: string): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    progress(`jobs: memory with 0 and 1,000 jobs, round ${i + 1}/${rounds}`);
    const running: Array<[MemoryCase, Running]> = [];
    try {
      for (const c of MEMORY_CASES) {
        const { kind, jobs, sleeper } = memoryJobs(c, stamp);
        if (missing(kind)) continue;
        running.push([c, await startScheduler(kind, jobs, sleeper)]);
      }
      await delay(SETTLE_MS);
      for (const [c, x] of running) {
        const m = memoryOf(x.init.pid());
        r.memory[c].rss.add(m?.rssKb);
        r.memory[c].pss.add(m?.pssKb);
        r.memory[c].uss.add(m?.ussKb);
      }
    } catch (err) {
      warnings.push(`jobs memory: ${(err as Error).message}`);
    } finally {
      await Promise.all(running.map(([, x]) => stopScheduler(x)));
    }
  }
}

/** 2. Idle CPU with MANY far-away jobs; the memory rounds run while the window waits for its minute. */
async function idleAndMemory(o: Options, r: JobsResult, stamp: string): Promise<void> {
  const running: Running[] = [];
  try {
    for (const kind of KINDS) {
      if (missing(kind)) continue;
      running.push(await startScheduler(kind, jobsOf(MANY, () => FAR, stamp, '/dev/null'), kind === 'berth'));
    }
    await memory(Math.min(o.runs, 3), r, stamp);
    const half = (o.cpuSeconds * 1000) / 2;
    // a minute boundary in the middle of the window, which opens at least 2 s from now
    const boundary = Math.ceil((Date.now() + 2000 + half) / 60_000) * 60_000;
    progress(`jobs: idle CPU with ${MANY.toLocaleString('en-US')} jobs over ${o.cpuSeconds} s around ${clock(boundary)} UTC (in ${num((boundary - Date.now()) / 1000, 0)} s)`);
    await delay(boundary - half - Date.now());
    const before = running.map((x) => cpuOf([x.init.pid()]));
    const t0 = Date.now();
    const active = running.map(() => 0);
    let last = before;
    for (let sec = 1; sec <= o.cpuSeconds; sec++) {
      await delay(Math.max(0, t0 + sec * 1000 - Date.now()));
      const now = running.map((x) => cpuOf([x.init.pid()]));
      now.forEach((c, i) => (active[i] += c.ns - last[i].ns > 100_000 ? 1 : 0));
      last = now;
    }
    r.idleSeconds = (Date.now() - t0) / 1000;
    r.idleBoundary = clock(boundary);
    running.forEach((x, i) => {
      const after = cpuOf([x.init.pid()]);
      r.idle[x.kind].ticks.add(x.init.running ? after.ticks - before[i].ticks : NaN);
      r.idle[x.kind].ms.add(x.init.running ? (after.ns - before[i].ns) / 1e6 : NaN);
      r.idle[x.kind].activeSeconds.add(active[i]);
    });
  } catch (err) {
    warnings.push(`jobs idle CPU: ${(err as Error).message}`);
  } finally {
    await Promise.all(running.map(stopScheduler));
  }
}

async function measure(o: Options): Promise<JobsResult> {
  const r: JobsResult = {
    stamp: '',
    minutes: o.jobMinutes,
    delay: Object.fromEntries(TIMED.map((k) => [k, { ms: new Samples(), expected: 0 }])) as JobsResult['delay'],
    everySecond: Object.fromEntries(SECONDS_CASES.map((c) => [c, { ms: new Samples(), firstMs: new Samples(), expected: 0 }])) as JobsResult['everySecond'],
    seconds: 10 * o.jobMinutes,
    idle: Object.fromEntries(KINDS.map((k) => [k, figures(['ticks', 'ms', 'activeSeconds'] as const)])) as JobsResult['idle'],
    idleSeconds: o.cpuSeconds,
    memory: Object.fromEntries(MEMORY_CASES.map((c) => [c, figures(MEMORY_FIGURES)])) as JobsResult['memory'],
  };
  const bin = scratch('stamp');
  try {
    const stamp = stampCommand(bin.dir);
    r.stamp = stamp.what;
    await dueToExec(o, r, stamp.prefix, stamp.program, stamp.floor);
    const es = r.everySecond;
    await everySecond(es.script, stamp.prefix, r.seconds, 1);
    if (stamp.program) await everySecond(es.exec, stamp.prefix, r.seconds, 1, stamp.program);
    await everySecond(es.burst, stamp.prefix, r.seconds, BURST);
    if (stamp.floor) {
      await floor(es.floorSh, stamp.floor, stamp.prefix, r.seconds, 1, true);
      await floor(es.floorExec, stamp.floor, stamp.prefix, r.seconds, 1, false);
      await floor(es.floorBurst, stamp.floor, stamp.prefix, r.seconds, BURST, true);
    }
    await idleAndMemory(o, r, stamp.prefix);
  } finally {
    rmSync(bin.dir, { recursive: true, force: true });
    live.delete(bin);
  }
  return r;
}

function version(kind: Kind): string {
  const pkg = kind === 'cron' ? 'cron' : existsSync('/usr/share/doc/busybox-static') ? 'busybox-static' : 'busybox';
  const r = spawnSync('dpkg-query', ['-W', '-f', '${Version}', pkg], { encoding: 'utf8', timeout: 5000 });
  return r.stdout?.trim() ? `${pkg} ${r.stdout.trim()}` : 'unknown version';
}

/** "median 3.1 ms, p99 9.8 ms (min 1.2, max 10.4, n=40 of 40)" */
function delayText(s: Samples, expected: number): string {
  const sum = s.summary;
  if (!sum) return `no data (0 of ${expected} runs)`;
  return `median ${num(sum.median)} ms, p99 ${num(quantile(s.values, 0.99)!)} ms (min ${num(sum.min)}, max ${num(sum.max)}, n=${sum.n} of ${expected})`;
}

/** (c − base) / the jobs between them, in kB, per round (the cases of a round ran side by side) */
function perJob(r: JobsResult, c: MemoryCase, base: MemoryCase, k: 'rss' | 'pss', jobs = MANY): Summary | undefined {
  const a = r.memory[c][k].values;
  const b = r.memory[base][k].values;
  return summarise(a.map((x, i) => (x - b[i]) / jobs));
}

function report(r: JobsResult): Section {
  const present = (k: Kind): string | undefined => missing(k);
  const lines = [
    `10. scheduled jobs: Berth beside Debian's cron (${present('cron') ?? version('cron')}) and busybox crond (${present('crond') ?? version('crond')}), each PID 1 of its own namespace`,
    `   due → exec: one job a minute in each, side by side over the same ${r.minutes} minute(s); Berth's as an execStart (exec'd by the init, '* * * * *')`,
    `   and as a script (through /bin/sh -c, as cron and crond run every job; '40 * * * * *', so that the two inits never wake at once); the C floor`,
    `   exec'd 20 s into each minute; a job stamps its own start (${r.stamp}); delay = stamp − its due time`,
  ];
  for (const t of TIMED) {
    const d = r.delay[t];
    const why = t === 'floor' ? (d.expected ? undefined : 'not run (no C compiler)') : t === 'berthExec' && !d.expected ? 'not run (no C compiler)' : present(kindOf(t));
    lines.push(`   ${label(TIMED_NAMES[t])}${why ?? delayText(d.ms, d.expected)}`);
  }
  lines.push(`   every second, ${r.seconds} s each, Berth alone, then the C floor (clock_nanosleep to the second, posix_spawn, as an ordinary process); p99 by nearest rank:`);
  for (const c of SECONDS_CASES) {
    const e = r.everySecond[c];
    if (!e.expected) {
      lines.push(`   ${label(SECONDS_NAMES[c])}not run${c.startsWith('floor') || c === 'exec' ? ' (no C compiler)' : ''}`);
      continue;
    }
    lines.push(`   ${label(SECONDS_NAMES[c])}${delayText(e.ms, e.expected)}`);
    if (c.endsWith('urst')) lines.push(`   ${label('')}first run of each second: ${fmt(e.firstMs.summary, 'ms')}`);
  }
  lines.push(`   idle CPU of PID 1 with ${MANY.toLocaleString('en-US')} jobs '${FAR}' over ${num(r.idleSeconds, 1)} s${r.idleBoundary ? `, the minute ${r.idleBoundary} UTC in its middle` : ''} (Berth with one long-run too):`);
  for (const k of KINDS) lines.push(`   ${label(NAMES[k])}${present(k) ?? `${fmt(r.idle[k].ticks.summary, 'ticks', 0)}; ${fmt(r.idle[k].ms.summary, 'ms CPU')}; seconds with > 0.1 ms CPU: ${fmt(r.idle[k].activeSeconds.summary, '', 0)}`}`);
  lines.push(`   PID-1 memory ${SETTLE_MS / 1000} s after up (Berth: one long-run beside the jobs; same: '${FAR}', distinct: 'i%60 i%24 1+i%28 * *', @every: '@every 1000h',`);
  lines.push(`   in a zone: '${FAR}' with timezone: ${ZONE}; the others in UTC);`);
  lines.push(`   median of the rounds, side by side in each; a job: (1,000 jobs − none) / 1,000, per round:`);
  const mem = (c: MemoryCase): string => {
    const m = r.memory[c];
    const mbOf = (s: Samples): string => (s.summary ? num(s.summary.median / 1024, 1) : '?');
    return `RSS ${mbOf(m.rss)} MB; PSS ${mbOf(m.pss)} MB; USS ${mbOf(m.uss)} MB (n=${m.rss.summary?.n ?? 0})`;
  };
  const rows: Array<[MemoryCase, string, Kind]> = [
    ['berth0', 'berth, no job', 'berth'],
    ['one', 'berth, one job', 'berth'],
    ['oneZone', 'berth, one in a zone', 'berth'],
    ['cron0', 'cron, no line', 'cron'],
    ['crond0', 'busybox crond, none', 'crond'],
  ];
  for (const [c, what, k] of rows) {
    const first = c === 'one' || c === 'oneZone' ? perJob(r, c, 'berth0', 'rss', 1024) : undefined;
    lines.push(`   ${label(what)}${present(k) ?? mem(c)}${first ? `; above none: RSS +${num(first.median, 1)} MB` : ''}`);
  }
  for (const [c, base, one, what] of PER_JOB) {
    const k = memoryJobs(c, '').kind;
    const rss = perJob(r, c, base, 'rss');
    const pss = perJob(r, c, base, 'pss');
    const beyond = one && perJob(r, c, one, 'rss', MANY - 1);
    lines.push(`   ${label(what)}${present(k) ?? `${mem(c)}; a job: RSS ${fmt(rss, 'kB')}, PSS ${pss ? `${num(pss.median)} kB` : '?'}`}`);
    if (beyond) lines.push(`   ${label('')}beyond the first job (1,000 − one, / 999): RSS ${fmt(beyond, 'kB')}`);
  }

  const q = (x: Samples, which: 'median' | 'p99'): number | undefined => (which === 'median' ? x.summary?.median : quantile(x.values, 0.99));
  const ms = (v: number | undefined): string => (v === undefined ? 'no data' : `${num(v)} ms`);
  /** the every-minute job: Berth's execStart against the target, the others beside it */
  const minuteTarget = (which: 'median' | 'p99', limit: number): Target => {
    const v = q(r.delay.berthExec.ms, which);
    const beside = (['berth', 'cron', 'crond'] as const).map((t) => `${TIMED_NAMES[t]} ${present(kindOf(t)) ?? ms(q(r.delay[t].ms, which))}`);
    return {
      what: `job due → exec${which === 'p99' ? ' p99' : ''}, '* * * * *', execStart`,
      target: `< ${limit} ms${which === 'median' ? ' median' : ''} (#25)`,
      berth: ms(v),
      pass: v === undefined ? undefined : v < limit,
      peers: `${beside.join(', ')}; C floor, exec each minute: ${ms(q(r.delay.floor.ms, which))}`,
    };
  };
  const secondTarget = (c: SecondsCase, floorCase: SecondsCase): Target => {
    const e = r.everySecond[c].ms;
    const f = r.everySecond[floorCase].ms;
    return {
      what: `job due → exec, '* * * * * *', ${SECONDS_NAMES[c].replace('berth, ', '')}`,
      target: 'reported, beside the floor',
      berth: e.summary ? `${num(e.summary.median)} ms, p99 ${num(quantile(e.values, 0.99)!)}` : 'no data',
      pass: undefined,
      peers: `${SECONDS_NAMES[floorCase]}: ${f.summary ? `${num(f.summary.median)} ms, p99 ${num(quantile(f.values, 0.99)!)}` : 'not run'}`,
    };
  };
  const ticks = r.idle.berth.ticks.summary;
  const perJobTarget = (c: MemoryCase, what: string): Target => {
    const s = perJob(r, c, 'berth0', 'rss');
    const beyond = perJob(r, c, c === 'zone' ? 'oneZone' : 'one', 'rss', MANY - 1);
    const cron = perJob(r, 'cron', 'cron0', 'rss');
    const crond = perJob(r, 'crond', 'crond0', 'rss');
    return {
      what: `RSS per job, ${what}`,
      // what each job adds: past the first, which brings what comes once (croner, and in a zone ICU's data: 8 MB)
      target: '< 10 kB a job (1,000 against one, / 999)',
      berth: beyond ? `${num(beyond.median)} kB past one (${s ? num(s.median) : '?'} against none)` : 'no data',
      pass: beyond ? beyond.median < 10 : undefined,
      peers: `cron ${present('cron') ?? (cron ? `${num(cron.median, 2)} kB` : '?')}, busybox crond ${present('crond') ?? (crond ? `${num(crond.median, 2)} kB` : '?')}`,
    };
  };
  const targets: Target[] = [
    minuteTarget('median', 5),
    minuteTarget('p99', 20),
    secondTarget('exec', 'floorExec'),
    secondTarget('script', 'floorSh'),
    secondTarget('burst', 'floorBurst'),
    {
      what: `idle CPU (${num(r.idleSeconds, 0)} s, 1,000 jobs)`,
      target: '0 (<= 1 tick) (#25)',
      berth: ticks ? `${num(ticks.max, 0)} ticks, ${r.idle.berth.ms.summary ? num(r.idle.berth.ms.summary.median, 2) : '?'} ms` : 'no data',
      pass: ticks ? ticks.max <= 1 : undefined,
      peers: (['cron', 'crond'] as const).map((k) => `${NAMES[k]} ${present(k) ?? (r.idle[k].ms.summary ? `${num(r.idle[k].ms.summary.median, 2)} ms` : 'no data')}`).join(', '),
    },
    perJobTarget('identical', 'same schedule'),
    perJobTarget('distinct', 'distinct schedules'),
    perJobTarget('every', '@every'),
    perJobTarget('zone', `same, ${ZONE}`),
  ];
  return { lines, targets };
}

export const jobs: Benchmark<JobsResult> = { name: 'jobs', measure, report, cleanup };
