// What PID 1 keeps out of its memory, and out of its services': Node
// modules it has no use for, copies of its fd table, what it inherited.
import test from 'ava';
import { readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runBerth, sleep, startInit, tempDir, waitForRecord, waitUntil } from '../helpers/init.js';
import { buildDenySyscall } from '../helpers/seccomp.js';

test('with its control channel serving, the init has loaded neither node:cluster nor node:child_process', async (t) => {
  // net's Server#listen would load cluster (and child_process, dgram) to ask whether this is a cluster worker: ~0.65 MB
  const dir = tempDir();
  const hook = join(dir, 'modules.cjs');
  const list = join(dir, 'modules.txt');
  writeFileSync(hook, `process.on('exit', () => require('fs').writeFileSync(${JSON.stringify(list)}, process.moduleLoadList.join('\\n')));\n`);
  // the service runs until the test is done asking: a loaded machine can take longer than a short sleep to start the client
  const init = startInit({ dir, manifest: { version: 1, services: { short: { script: 'sleep 60' } } }, env: { NODE_OPTIONS: `--require ${hook}` } });
  t.teardown(() => init.cleanup());
  await init.waitFor('short: started');
  const status = await runBerth(['status', '--json', '--state-dir', init.stateDir]);
  t.is(status.code, 0, 'the control channel answers');
  await init.signal('SIGTERM');
  t.is((await init.exited).code, 0);
  const loaded = readFileSync(list, 'utf8').split('\n');
  t.true(loaded.includes('NativeModule net'), 'the list is the init process’s');
  t.deepEqual(loaded.filter((m) => /^NativeModule (cluster|child_process|dgram)$/.test(m)), []);
});

test("once every stage is done, the init gives start-up's garbage back in one memory-reducing collection", async (t) => {
  // V8's memory reducer is off in PID 1 (it would collect in idle time, ~8 s on): the init asks for the collection itself
  const init = startInit({
    manifest: { version: 1, services: { a: { script: 'sleep 30' }, b: { script: 'sleep 30' } } },
    wrap: ([node, ...rest]) => [node, '--trace-gc', ...rest],
  });
  t.teardown(() => init.cleanup());
  const out = await init.waitFor(/all stages done[\s\S]*low memory notification/);
  t.notRegex(out.slice(0, out.indexOf('all stages done')), /low memory notification/, 'not before start-up is over');
  await sleep(1000);
  const after = init.output().slice(out.indexOf('all stages done'));
  t.is(after.match(/Mark-Compact \(reduce\)/g)?.length ?? 0, after.match(/low memory notification/g)?.length ?? 0, 'no other memory-reducing collection: the idle init runs none');
});

/** The size of a process's fd table (FDSize in /proc/PID/status): it only ever grows. */
function fdTableSize(pid: number): number {
  return Number(/^FDSize:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
}

test('the init grows its fd table once, at start, to what its services will need', async (t) => {
  // Each growth of a shared fd table waits for an RCU grace period (5-20 ms): grown by doubling, 1,000 services paid four or five of them
  // 300 oneshots one after another never hold more than one pipe: only the reservation makes the table this big
  const many = startInit({
    manifest: { version: 1, services: Object.fromEntries([...Array(300).keys()].map((i) => [`task${i}`, { type: 'oneshot-pre', execStart: ['/bin/true'] }])) },
  });
  t.teardown(() => many.cleanup());
  await many.waitFor('task0: ');
  const pid = await many.initPid();
  // grown on a thread of the init's own, while the first tasks run: a few ms, a bound of seconds
  const size = await waitUntil('the table has room for 300 services', () => fdTableSize(pid) >= 32 + 2 * 300 && fdTableSize(pid), { timeoutMs: 5000, describe: () => `FDSize ${fdTableSize(pid)}` });
  t.true(many.output().split('\n').filter((l) => / task\d+: exited with code 0/.test(l)).length < 300, `grown before the tasks were over (FDSize ${size})`);
});

/**
 * An init with 150 plain services and one with a readiness pipe on fd 5,
 * started with two descriptors of its parent's that are not close-on-exec:
 * 19, below the addon's slots, which a service's own table keeps (Node
 * itself marks some low ones close-on-exec, not 19), and 600, above them.
 * Each service's descriptors and fd table size, and the init's.
 */
async function serviceTables(wrap: string[] = []): Promise<{ init: { size: number; inherited: boolean }; plain: { fds: number[]; size: number; stdin: string }; notifier: { fds: number[]; size: number } }> {
  const services: Record<string, unknown> = Object.fromEntries([...Array(150).keys()].map((i) => [`s${i}`, { execStart: ['/bin/sleep', '60'] }]));
  services.notifier = { execStart: ['/bin/sleep', '60'], readiness: { notificationFd: 5 } };
  const init = startInit({ manifest: { version: 1, services }, wrap: (argv) => [...wrap, 'bash', '-c', 'exec 19</dev/null 600</dev/null; exec "$@"', 'bash', ...argv] });
  try {
    const initPid = await init.initPid();
    const pidOf = async (name: string): Promise<number> => (await waitForRecord(init.stateDir, name, (r) => typeof r.pid === 'number')).pid as number;
    const fdsOf = (pid: number): number[] => readdirSync(`/proc/${pid}/fd`).map(Number).sort((a, b) => a - b);
    const [plain, notifier] = [await pidOf('s149'), await pidOf('notifier')];
    return {
      init: { size: fdTableSize(initPid), inherited: fdsOf(initPid).includes(19) && fdsOf(initPid).includes(600) },
      plain: { fds: fdsOf(plain), size: fdTableSize(plain), stdin: readlinkSync(`/proc/${plain}/fd/0`) },
      notifier: { fds: fdsOf(notifier), size: fdTableSize(notifier) },
    };
  } finally {
    await init.cleanup();
  }
}

test("a service starts with a fd table of its own holding only its descriptors, not a copy of the init's, nor what the init inherited", async (t) => {
  // A copied table costs each spawn a reference per open fd of the init's (2,000 relay pipes at 1,000 services), then a close of each at exec
  const got = await serviceTables();
  t.true(got.init.size >= 256, `the init's table is big enough to tell a copy from a fresh one (FDSize ${got.init.size})`);
  t.true(got.init.inherited, 'the init keeps its inherited fds');
  t.deepEqual(got.plain, { fds: [0, 1, 2], size: 64, stdin: '/dev/null' }, 'the smallest table, not the init’s');
  t.deepEqual(got.notifier, { fds: [0, 1, 2, 5], size: 64 });
});

const REFUSALS = [
  ['close_range', 'seccomp refuses close_range'],
  // the probe (close_range(1, 0, ...)) passes there; the child's own call does not
  [`close_range@${2 ** 31 - 1}`, 'a sandbox refuses close_range past INT_MAX'],
] as const;
for (const [filter, where] of REFUSALS) {
  test(`where ${where}, a service gets a copy of the fd table instead, and still only its own descriptors`, async (t) => {
    const deny = buildDenySyscall(t);
    if (!deny) return;
    const got = await serviceTables([deny, filter]);
    t.true(got.init.inherited, 'the init keeps its inherited fds');
    // the reservation may grow the init's table after this spawn: bigger than a fresh one is what tells a copy
    t.true(got.plain.size > 64 && got.notifier.size > 64, `copies: FDSize ${got.plain.size} and ${got.notifier.size}`);
    t.deepEqual(got.plain.fds, [0, 1, 2]);
    t.is(got.plain.stdin, '/dev/null');
    t.deepEqual(got.notifier.fds, [0, 1, 2, 5]);
  });
}
