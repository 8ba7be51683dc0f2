// Per-service limits through a real init: on this kernel's cgroup v1 (as
// root) an OOM kill at a service's memory limit takes that service alone,
// is said as OOM and restarted per its policy; a fork bomb stops at its pids
// limit; a cpu-bound service gets about its cpu share; the cgroups go when
// the init exits. With BERTH_CGROUP=off the watcher does the memory and pids
// limits. Each init runs in a cgroup of its own (as a container's init
// does), made by the test and removed after it.
import test, { type ExecutionContext } from 'ava';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { detectCgroups } from '../../src/resources/detect.js';
import { runBerth, sleep, startInit, tempDir, waitForRecord, waitUntil, type InitRun } from '../helpers/init.js';

const detected = detectCgroups({});
const v1 = detected.version === 1 && detected.dirs.memory && detected.dirs.cpu && detected.dirs.pids ? detected.dirs : undefined;
const problem = process.getuid?.() !== 0 ? 'not root' : v1 ? undefined : `no writable cgroup v1 memory, cpu and pids here (${detected.version === null ? detected.reason : `cgroup v${detected.version}`})`;
const cgroupTest = problem ? test.skip : test;
const skipped = problem ? ` (skipped: ${problem})` : '';

interface LimitRecord {
  name: string;
  state: string;
  pid: number | null;
  restarts: number;
  lastExit: { code: number | null; signal: string | null; reason?: string | null } | null;
  limits?: { memory?: number; cpu?: number; pids?: number };
  enforcedBy?: string;
  memory?: number | null;
  oomKills?: number;
}

const record = async (init: InitRun, name: string, ok: (r: LimitRecord) => boolean = () => true, timeoutMs = 20_000): Promise<LimitRecord> =>
  (await waitForRecord(init.stateDir, name, (r) => ok(r as unknown as LimitRecord), timeoutMs)) as unknown as LimitRecord;

let made = 0;

/** A cgroup of its own in each v1 hierarchy for one init: the wrapper moves the init there before it execs. */
function ownCgroup(t: ExecutionContext): { wrap: (argv: string[]) => string[]; dirs: Record<string, string> } {
  const name = `berth-test-${process.pid}-${++made}`;
  const dirs = Object.fromEntries(Object.entries(v1!).map(([c, parent]) => [c, join(parent!, name)]));
  for (const dir of Object.values(dirs)) mkdirSync(dir);
  t.teardown(async () => {
    // the init removed its services' cgroups; what is left is ours (a test that failed early may leave more)
    for (const dir of Object.values(dirs)) {
      await waitUntil(`${dir} empty`, () => readFileSync(join(dir, 'cgroup.procs'), 'latin1').trim() === '', { timeoutMs: 10_000, everyMs: 50 }).catch(() => undefined);
      removeTree(dir);
    }
  });
  const join1 = Object.values(dirs).map((d) => `echo $$ > ${d}/cgroup.procs`).join(' && ');
  return { wrap: (argv) => ['sh', '-c', `${join1} && exec "$@"`, 'sh', ...argv], dirs };
}

function removeTree(dir: string): void {
  if (!existsSync(dir)) return;
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) removeTree(join(dir, e.name));
  try {
    rmdirSync(dir);
  } catch {
    // still busy: the next run's stale sweep in cgroups.test.ts takes it
  }
}

/** An init in a cgroup of its own, cleaned up after the test. */
function limitedInit(t: ExecutionContext, services: Record<string, unknown>, extra: { env?: Record<string, string>; top?: object } = {}): { init: InitRun; dirs: Record<string, string> } {
  const own = ownCgroup(t);
  const init = startInit({ manifest: { version: 1, ...extra.top, services }, env: { S6_KILL_GRACETIME: '1000', ...extra.env }, wrap: own.wrap });
  t.teardown(() => init.cleanup());
  return { init, dirs: own.dirs };
}

// a node process that grows its heap outside V8 by a MiB every 5 ms until it is killed
const HOG = `exec node -e "const a = []; setInterval(() => a.push(Buffer.alloc(1 << 20, 1)), 5)"`;

cgroupTest(`an OOM kill at a service's memory limit takes it alone, is said as OOM, and it is restarted${skipped}`, async (t) => {
  const { init, dirs } = limitedInit(t, {
    hog: { script: HOG, resources: { memory: '96Mi' }, restart: 'on-failure' },
    calm: { script: 'exec sleep infinity' },
  });
  await init.waitFor(/resource limits: hog \(memory 96Mi\) by cgroup v1/);
  const calm = await record(init, 'calm', (r) => r.state === 'up');
  const first = await record(init, 'hog', (r) => r.restarts >= 1 && r.lastExit !== null);
  // the line may come a moment after the record
  await init.waitFor(/\[berth\] hog: killed by the kernel's OOM killer \(SIGKILL, code 137\): OOM, its memory limit \(96Mi\) reached; restarting/);
  t.log(init.output().split('\n').filter((l) => l.includes('hog:')).slice(0, 3));
  t.is(first.lastExit!.reason, 'oom');
  t.is(first.lastExit!.signal, 'SIGKILL');
  t.is(first.enforcedBy, 'cgroup-v1');
  t.deepEqual(first.limits, { memory: 96 * 1024 * 1024 });
  t.true((first.oomKills ?? 0) >= 1);
  t.is((await record(init, 'calm')).pid, calm.pid, 'the sibling kept its pid');
  // the service's own cgroup, under the init's
  const svcDir = join(dirs.memory, `services.${await init.initPid()}`, 'hog.service');
  t.is(readFileSync(join(svcDir, 'memory.limit_in_bytes'), 'latin1').trim(), String(96 * 1024 * 1024));
  const status = JSON.parse((await runBerth(['status', '--json', '--state-dir', init.stateDir])).stdout) as LimitRecord[];
  const hog = status.find((s) => s.name === 'hog')!;
  t.is(hog.enforcedBy, 'cgroup-v1');
  t.true(typeof hog.memory === 'number');
  await init.signal('SIGTERM');
  t.is((await init.exited).code, 0);
  t.false(existsSync(svcDir), 'its cgroup is removed when the init exits');
});

cgroupTest(`a fork bomb stops at its pids limit; a cpu-bound service gets about its cpu share${skipped}`, async (t) => {
  const { init, dirs } = limitedInit(t, {
    // a fork that fails ends `sh -e`: the bomb goes on past it, and its end would not end the run
    bomb: { script: 'set +e; for i in $(seq 1 200); do sleep 60 & done 2>/dev/null; wait', resources: { pids: 20 }, essential: false },
    spin: { execStart: ['node', '-e', 'for (;;);'], resources: { cpu: 0.2 } },
  });
  const spin = await record(init, 'spin', (r) => r.state === 'up');
  const group = `services.${await init.initPid()}`;
  const pidsCurrent = (): number => Number(readFileSync(join(dirs.pids, group, 'bomb.service', 'pids.current'), 'latin1'));
  await waitUntil('the bomb has forked what it may', () => pidsCurrent() >= 15, { timeoutMs: 15_000, everyMs: 100 });
  await sleep(500);
  t.true(pidsCurrent() <= 20, `pids.current ${pidsCurrent()}`);
  // CPU of the spinner over 3 s, from its stat (utime + stime)
  const ticks = (): number => {
    const f = readFileSync(`/proc/${spin.pid}/stat`, 'latin1').split(') ')[1].split(' ');
    return Number(f[11]) + Number(f[12]);
  };
  const t0 = ticks();
  const at = Date.now();
  await sleep(3000);
  const share = (ticks() - t0) / 100 / ((Date.now() - at) / 1000);
  t.log(`spin used ${(share * 100).toFixed(1)}% of a core`);
  t.true(share > 0.1 && share < 0.3, `${(share * 100).toFixed(1)}% of a core`);
});

test('the watcher keeps memory and pids limits where the init may not make cgroups (BERTH_CGROUP=off)', async (t) => {
  const dir = tempDir();
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const init = startInit({
    dir,
    env: { BERTH_CGROUP: 'off', S6_KILL_GRACETIME: '1000', BERTH_HTTP: `127.0.0.1:${port}` },
    manifest: {
      version: 1,
      resources: { pids: 500 },
      services: {
        hog: { script: HOG, resources: { memory: '96Mi' }, restart: 'on-failure' },
        calm: { script: 'exec sleep infinity', resources: { cpu: 0.5 } },
      },
    },
  });
  t.teardown(() => init.cleanup());
  await init.waitFor(/resource limits: .*by the watcher; no cgroups: BERTH_CGROUP=off; the cpu limit of calm is not enforced: only cgroups can cap CPU/);
  const hog = await record(init, 'hog', (r) => r.restarts >= 1 && r.lastExit !== null);
  await init.waitFor(/\[berth\] hog: killed by SIGTERM \(code 143\) after over its memory limit \([\d.]+ MiB of 96Mi\): OOM, stopped by the watcher; restarting/);
  t.regex(init.output(), /\[berth\] hog: over its memory limit \([\d.]+ MiB of 96Mi\): sending SIGTERM/);
  t.log(init.output().split('\n').filter((l) => l.includes('hog:')).slice(0, 3));
  t.is(hog.lastExit!.reason, 'oom');
  t.is(hog.enforcedBy, 'watcher');
  t.deepEqual(hog.limits, { memory: 96 * 1024 * 1024, pids: 500 });
  t.true((hog.oomKills ?? 0) >= 1);
  const calm = await record(init, 'calm');
  t.is(calm.state, 'up', 'the rest goes on');
  t.deepEqual(calm.limits, { cpu: 0.5, pids: 500 });
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  t.regex(metrics, /^berth_service_oom_kills_total\{service="hog"\} [1-9]\d*$/m);
  t.regex(metrics, /^berth_service_oom_kills_total\{service="calm"\} 0$/m);
  t.regex(metrics, new RegExp(`^berth_service_memory_limit_bytes\\{service="hog"\\} ${96 * 1024 * 1024}$`, 'm'));
  t.notRegex(metrics, /berth_service_memory_limit_bytes\{service="calm"\}/, 'no memory limit, no sample');
  t.regex(metrics, /^berth_service_memory_charged_bytes\{service="hog"\} \d+$/m);
});

test('berth validate names a wrong amount at its line and column, top level once', async (t) => {
  const dir = tempDir();
  const file = join(dir, 'manifest.yaml');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(file, ['version: 1', 'resources:', '  memory: 12Q', 'services:', '  a:', '    script: "true"', '    resources: { cpu: "half", pids: 0 }', '  b:', '    script: "true"', ''].join('\n'));
  const r = await runBerth(['validate', file]);
  t.is(r.code, 1);
  t.log(r.stdout + r.stderr);
  const out = r.stdout + r.stderr;
  t.regex(out, /manifest\.yaml:3:\d+: resources\.memory: '12Q' is not a memory quantity; use bytes or a suffix/);
  t.regex(out, /manifest\.yaml:7:\d+: services\.a\.resources\.cpu: 'half' is not a CPU amount/);
  t.regex(out, /manifest\.yaml:7:\d+: services\.a\.resources\.pids: must be at least 1/);
  t.is((out.match(/12Q/g) ?? []).length, 1, 'the top-level mistake is said once');
});

const rootTest = process.getuid?.() !== 0 ? test.skip : test;

rootTest(`a read-only /sys/fs/cgroup (as in most unprivileged pods) gives the watcher, and the init says why${process.getuid?.() !== 0 ? ' (skipped: not root)' : ''}`, async (t) => {
  // a mount namespace of the init's own, every cgroup mount in it read-only
  const readOnly = (argv: string[]): string[] => [
    'unshare', '--mount', 'sh', '-c',
    'mount --make-rprivate / && for d in /sys/fs/cgroup/*/ /sys/fs/cgroup; do mount -o remount,bind,ro "$d" || exit 1; done && exec "$@"',
    'sh', ...argv,
  ];
  const init = startInit({ manifest: { version: 1, services: { hog: { script: HOG, resources: { memory: '96Mi' }, restart: 'on-failure' } } }, env: { S6_KILL_GRACETIME: '1000' }, wrap: readOnly });
  t.teardown(() => init.cleanup());
  const line = await init.waitFor(/resource limits: hog \(memory 96Mi\) by the watcher; no cgroups: .*(EROFS|not writable).*/);
  t.log(/resource limits: .*/.exec(line)?.[0]);
  const hog = await record(init, 'hog', (r) => r.restarts >= 1 && r.lastExit !== null);
  t.is(hog.enforcedBy, 'watcher');
  t.is(hog.lastExit!.reason, 'oom');
});

cgroupTest(`an OOM kill at the container's limit names its victim too, a service with no limit of its own${skipped}`, async (t) => {
  const own = ownCgroup(t);
  // the init's own cgroup (the container's) gets the limit; the service none
  const { writeFileSync } = await import('node:fs');
  writeFileSync(join(own.dirs.memory, 'memory.limit_in_bytes'), String(256 * 1024 * 1024));
  const init = startInit({ manifest: { version: 1, services: { hog: { script: HOG, restart: 'on-failure' }, calm: { script: 'exec sleep infinity' } } }, env: { S6_KILL_GRACETIME: '1000' }, wrap: own.wrap });
  t.teardown(() => init.cleanup());
  await init.waitFor(/\[berth\] hog: killed by the kernel's OOM killer \(SIGKILL, code 137\): OOM, a memory limit above its own \(the container's\); restarting/, 30_000);
  const hog = await record(init, 'hog', (r) => r.lastExit !== null);
  t.is(hog.lastExit!.reason, 'oom');
  t.is(hog.enforcedBy, undefined, 'it has no limit of its own');
  t.is((await record(init, 'calm')).state, 'up');
});

cgroupTest(`a service with a terminal is moved into its cgroup once it runs${skipped}`, async (t) => {
  const { init, dirs } = limitedInit(t, { term: { script: 'exec sleep infinity', tty: true, resources: { pids: 50 } } });
  const term = await record(init, 'term', (r) => r.state === 'up');
  const group = `services.${await init.initPid()}`;
  const procs = (): string[] => readFileSync(join(dirs.pids, group, 'term.service', 'cgroup.procs'), 'latin1').split('\n');
  await waitUntil('its process is in its pids cgroup', () => procs().includes(String(term.pid)), { timeoutMs: 5000, everyMs: 50 }).catch(() => undefined);
  t.true(procs().includes(String(term.pid)), `pid ${term.pid} in ${procs().join(' ')}`);
});
