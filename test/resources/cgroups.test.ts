// The manager and the native spawn's cgroup join on a real kernel, as root:
// on cgroup v1 (memory, cpu and pids hierarchies), a process and what it
// forks are in the service's cgroups before its program runs, a memory hog
// is OOM-killed while its sibling lives, a fork bomb stops at pids.max, and
// the cgroups go at the end. On the v2 tree (here without controllers: they
// are bound to v1), the init's move into a leaf and the join. Each test makes
// its own cgroups under a name with this worker's pid and removes them.
import test, { type ExecutionContext } from 'ava';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmdirSync, constants as fsConstants } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { decodeWaitStatus, listChildren, loadNative, spawnNative } from '../../src/pid1/index.js';
import { openCgroups, type Cgroups, type ServiceCgroup } from '../../src/resources/cgroups.js';
import { detectCgroups } from '../../src/resources/detect.js';
import { sleep } from '../helpers/wait.js';

const detected = detectCgroups({});
const v1 = detected.version === 1 && detected.dirs.memory && detected.dirs.cpu && detected.dirs.pids ? detected : undefined;
const rootProblem = process.getuid?.() !== 0 ? 'not root' : undefined;
const v1Problem = rootProblem ?? (v1 ? undefined : `no writable cgroup v1 memory, cpu and pids here (${detected.version === null ? detected.reason : `cgroup v${detected.version}`})`);
const unified = /^\S+ \S+ \S+ \/ (\S+) .* - cgroup2 /m.exec(readFileSync('/proc/self/mountinfo', 'latin1'))?.[1];
const v2Problem = rootProblem ?? (unified ? undefined : 'no cgroup2 mount here');
const v1Test = v1Problem ? test.skip : test.serial;
const v2Test = v2Problem ? test.skip : test.serial;
const skipped = (problem: string | undefined): string => (problem ? ` (skipped: ${problem})` : '');
if (v1Problem) console.log(`cgroups.test: v1 tests skipped: ${v1Problem}`);
if (v2Problem) console.log(`cgroups.test: v2 tests skipped: ${v2Problem}`);

let tests = 0;

// a worker that timed out lost its teardowns: its test cgroups (named with its pid) are removed here
for (const parent of rootProblem ? [] : [...(v1 ? Object.values(v1.dirs) : []), ...(unified ? [unified] : [])]) {
  for (const entry of readdirSync(parent)) {
    const owner = /^berth-test-(\d+)-/.exec(entry)?.[1];
    if (!owner || existsSync(`/proc/${owner}`)) continue;
    const dir = join(parent, entry);
    for (const sub of readdirSync(dir, { withFileTypes: true })) if (sub.isDirectory()) for (const leaf of readdirSync(join(dir, sub.name), { withFileTypes: true })) if (leaf.isDirectory()) tryRmdir(join(dir, sub.name, leaf.name));
    for (const sub of readdirSync(dir, { withFileTypes: true })) if (sub.isDirectory()) tryRmdir(join(dir, sub.name));
    tryRmdir(dir);
  }
}

function tryRmdir(dir: string): void {
  try {
    rmdirSync(dir);
  } catch (err) {
    console.log(`cgroups.test: cannot remove a stale test cgroup: ${(err as Error).message}`);
  }
}
const devNull = (): number => openSync('/dev/null', 'w');

interface Child {
  pid: number;
  exited: Promise<{ code: number | null; signal: number | null }>;
}

function spawnIn(t: ExecutionContext, argv: string[], cgroupProcs: number[]): Child {
  const output = devNull();
  const got = spawnNative({ file: argv[0], argv, env: ['PATH=/usr/bin:/bin'], output, cgroupProcs });
  closeSync(output);
  if (!('pid' in got)) throw new Error(`spawn ${argv.join(' ')}: ${JSON.stringify(got)}`);
  const { pid } = got;
  const exited = exitOf(pid);
  // its session, whatever it forked included, goes at the end of the test
  t.teardown(async () => {
    killGroup(pid);
    await exited;
  });
  return { pid, exited };
}

/** Its wait status, polled: ava runs tests in worker threads, where no SIGCHLD handler (the reaper's) can run. */
async function exitOf(pid: number): Promise<{ code: number | null; signal: number | null }> {
  const status = new Int32Array(1);
  while (loadNative().waitNoHang(pid, status) === 0) await sleep(20);
  return decodeWaitStatus(status[0]);
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // gone
  }
}

/** A manager for this test alone: its group is named after the worker and the test. */
function manager(t: ExecutionContext): Cgroups {
  const opened = openCgroups(v1!, { group: `berth-test-${process.pid}-${++tests}` });
  if (!opened.ok) throw new Error(opened.error);
  t.teardown(async () => {
    const left = await opened.value.close();
    if (left) t.log(left);
  });
  return opened.value;
}

function make(t: ExecutionContext, cgroups: Cgroups, name: string, limits: Parameters<Cgroups['make']>[1]): ServiceCgroup {
  const made = cgroups.make(name, limits);
  if (!made.ok) throw new Error(made.error);
  // registered after the processes' teardowns run (last in, first out): they go first
  t.teardown(async () => {
    const left = await made.value.remove();
    if (left) t.log(left);
  });
  return made.value;
}

/** The cgroup path of `pid` in the hierarchy of `controller` ("0" for v2), from /proc/PID/cgroup. */
function cgroupOf(pid: number, controller: string): string | undefined {
  const text = readFileSync(`/proc/${pid}/cgroup`, 'latin1');
  return text.split('\n').map((l) => /^(\d+):([^:]*):(.*)$/.exec(l)).find((m) => m && (controller === '0' ? m[1] === '0' : m[2].split(',').includes(controller)))?.[3];
}

async function until<T>(what: string, fn: () => T | undefined, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const got = fn();
    if (got !== undefined) return got;
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await sleep(20);
  }
}

const value = <T>(r: { ok: true; value: T } | { ok: false; error: string }): T => {
  if (!r.ok) throw new Error(r.error);
  return r.value;
};

v1Test(`v1: the process and what it forks are in the service's memory, cpu and pids cgroups, joined before exec; the cgroups go at the end${skipped(v1Problem)}`, async (t) => {
  const cgroups = manager(t);
  const svc = make(t, cgroups, 'join', { memory: 64 * 2 ** 20, cpu: 0.5, pids: 50 });
  t.is(svc.dirs.length, 3);
  const child = spawnIn(t, ['/bin/sh', '-c', 'sleep 30 & exec sleep 31'], svc.procsFds);
  const forked = await until('the fork', () => listChildren(child.pid)[0]);
  for (const pid of [child.pid, forked]) {
    for (const c of ['memory', 'cpu', 'pids'] as const) {
      t.true(cgroupOf(pid, c)?.endsWith(`/berth-test-${process.pid}-${tests}/join.service`), `${pid} in ${c}: ${cgroupOf(pid, c)}`);
    }
  }
  t.is(readFileSync(join(v1!.dirs.memory!, `berth-test-${process.pid}-${tests}/join.service/memory.limit_in_bytes`), 'latin1').trim(), String(64 * 2 ** 20));
  t.is(readFileSync(join(v1!.dirs.cpu!, `berth-test-${process.pid}-${tests}/join.service/cpu.cfs_quota_us`), 'latin1').trim(), '50000');
  t.true(value(svc.memoryBytes()) > 0);
  killGroup(child.pid);
  await child.exited;
  t.is(await svc.remove(), undefined);
  for (const dir of svc.dirs) t.false(existsSync(dir), dir);
});

v1Test(`v1: a process past its memory limit is OOM-killed (SIGKILL) and counted; its sibling in another cgroup lives on${skipped(v1Problem)}`, async (t) => {
  const cgroups = manager(t);
  const hog = make(t, cgroups, 'hog', { memory: 96 * 2 ** 20 });
  const calm = make(t, cgroups, 'calm', { memory: 96 * 2 ** 20 });
  const sibling = spawnIn(t, ['/bin/sleep', '30'], calm.procsFds);
  t.is(value(hog.oomKills()), 0);
  const hungry = spawnIn(t, [process.execPath, '-e', 'const a = []; for (;;) a.push(Buffer.alloc(1 << 20, 1))'], hog.procsFds);
  const exit = await Promise.race([hungry.exited, sleep(20_000).then(() => undefined)]);
  t.deepEqual(exit, { code: null, signal: constants.signals.SIGKILL });
  t.true(value(hog.oomKills()) >= 1, `oom_kill ${JSON.stringify(hog.oomKills())}`);
  t.notThrows(() => process.kill(sibling.pid, 0), 'the sibling lives');
  t.is(value(calm.oomKills()), 0);
});

v1Test(`v1: a fork bomb stops at pids.max${skipped(v1Problem)}`, async (t) => {
  const cgroups = manager(t);
  const svc = make(t, cgroups, 'bomb', { pids: 20 });
  const pidsDir = svc.dirs.find((d) => d.startsWith(v1!.dirs.pids!))!;
  const bomb = spawnIn(t, ['/bin/sh', '-c', 'i=0; while [ $i -lt 200 ]; do sleep 10 & i=$((i+1)); done; wait'], svc.procsFds);
  // pids.events' "max" counts the forks refused at the limit
  const refused = await until('a refused fork', () => {
    const n = Number(/^max (\d+)$/m.exec(readFileSync(join(pidsDir, 'pids.events'), 'latin1'))?.[1] ?? 0);
    return n > 0 ? n : undefined;
  });
  t.true(refused > 0);
  t.true(Number(readFileSync(join(pidsDir, 'pids.current'), 'latin1')) <= 20);
  t.true(readFileSync(join(pidsDir, 'cgroup.procs'), 'latin1').split('\n').filter(Boolean).length <= 20);
  killGroup(bomb.pid);
});

v1Test(`v1: a cgroup the child cannot join (removed under it) fails the spawn with the cgroup named; no program runs${skipped(v1Problem)}`, async (t) => {
  const cgroups = manager(t);
  const svc = make(t, cgroups, 'gone', {});
  rmdirSync(svc.dirs[1]);
  const output = devNull();
  const got = spawnNative({ file: '/bin/true', argv: ['true'], env: [], output, cgroupProcs: svc.procsFds });
  closeSync(output);
  t.deepEqual(got, { errno: constants.errno.ENODEV, cgroup: 1 });
  if ('cgroup' in got && got.cgroup !== undefined) t.is(svc.joinFailure(got.cgroup, got.errno), `cannot join cgroup ${svc.dirs[1]} before exec: ENODEV`);
  t.deepEqual(spawnNative({ file: '/bin/true', argv: ['true'], env: [], output: 1, cgroupProcs: [987654] }), { errno: constants.errno.EBADF });
});

v2Test(`v2 (a real tree, no controllers on it here): the init's cgroup empties into OWN/init, and a service's process and its fork join OWN/services/NAME.service before exec${skipped(v2Problem)}`, async (t) => {
  const own = join(unified!, `berth-test-${process.pid}-${++tests}`);
  mkdirSync(own);
  // the "init": a process in OWN, as PID 1 is in its container's cgroup
  const ownProcs = openSync(join(own, 'cgroup.procs'), fsConstants.O_WRONLY);
  const init = spawnIn(t, ['/bin/sleep', '30'], [ownProcs]);
  closeSync(ownProcs);
  t.teardown(async () => {
    killGroup(init.pid);
    await init.exited;
    for (const dir of [join(own, 'init'), own]) {
      for (let i = 0; i < 100 && existsSync(dir); i++) {
        try {
          rmdirSync(dir);
        } catch {
          await sleep(20);
        }
      }
    }
  });
  const relative = own.slice(unified!.length);
  t.is(cgroupOf(init.pid, '0'), relative);
  const opened = openCgroups({ version: 2, dir: own, controllers: [], missing: [] });
  if (!opened.ok) return t.fail(opened.error);
  t.teardown(async () => {
    const left = await opened.value.close();
    if (left) t.log(left);
  });
  t.is(cgroupOf(init.pid, '0'), `${relative}/init`);
  t.is(readFileSync(join(own, 'cgroup.procs'), 'latin1'), '');
  const made = opened.value.make('svc', {});
  if (!made.ok) return t.fail(made.error);
  const child = spawnIn(t, ['/bin/sh', '-c', 'sleep 30 & exec sleep 31'], made.value.procsFds);
  const forked = await until('the fork', () => listChildren(child.pid)[0]);
  for (const pid of [child.pid, forked]) t.is(cgroupOf(pid, '0'), `${relative}/services/svc.service`);
  killGroup(child.pid);
  await child.exited;
  t.is(await made.value.remove(), undefined);
  t.false(existsSync(made.value.dirs[0]));
});
