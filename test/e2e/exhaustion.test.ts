// Exhaustion is a clear line and a running init, never a crash or a hang:
// a state dir unusable in every way, descriptors run out at spawn, records
// that no longer fit, and a service that writes a gigabyte without a newline.
import test from 'ava';
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { berth, run, runBerth, sleep, startInit, tempDir, waitForRecord, waitUntil } from '../helpers/init.js';

const SERVICE = { version: 1, services: { a: { script: 'echo A-RAN' } } };

/** Runs `berth init STATE --manifest M` through `sh -c PREP`, as `uid`, in a mount namespace of its own. */
function initAfter(prep: string, state: string, manifest: string, uid = 0): ReturnType<typeof run> {
  const setpriv = uid === 0 ? [] : ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups'];
  return run(['unshare', '--mount', '--propagation', 'private', 'sh', '-c', `${prep} && exec "$@"`, 'sh', ...setpriv, ...berth, 'init', state, '--manifest', manifest], { env: { TMPDIR: '' } });
}

test('a state dir that cannot be made or written, in every way, falls back with the errno and where it happened; the service runs', async (t) => {
  const dir = tempDir();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  chmodSync(dir, 0o755);
  const manifest = join(dir, 'manifest.json');
  writeFileSync(manifest, JSON.stringify(SERVICE));
  chmodSync(manifest, 0o644);
  mkdirSync(join(dir, 'locked'), { mode: 0o700 });
  const cases: Array<{ why: string; prep: string; state: string; uid?: number; says: RegExp }> = [
    { why: 'a missing parent on /proc, as nobody (Node alone would spin for ever)', prep: 'true', state: '/proc/berth-x/state', uid: 65534, says: /cannot use state dir \/proc\/berth-x\/state: ENOENT at \/proc\/berth-x; using state dir \/tmp\/berth-65534 instead/ },
    { why: 'a root-owned 0700 parent, as nobody', prep: 'true', state: join(dir, 'locked/state'), uid: 65534, says: /locked\/state: EACCES; using state dir \/tmp\/berth-65534 instead/ },
    { why: 'a read-only filesystem', prep: `mount -t tmpfs -o ro none ${join(dir, 'locked')}`, state: join(dir, 'locked/state'), says: /: EROFS; using state dir \/tmp\/berth-0 instead/ },
    { why: 'a full filesystem', prep: `mount -t tmpfs -o size=4k none ${join(dir, 'locked')} && mkdir ${join(dir, 'locked/state')} && (head -c 8192 /dev/zero > ${join(dir, 'locked/fill')} || true)`, state: join(dir, 'locked/state'), says: /cannot use state dir [^:]+: ENOSPC[^;]*; using state dir \/tmp\/berth-0 instead/ },
    { why: 'a file where the directory should be', prep: `touch ${join(dir, 'file')}`, state: join(dir, 'file/state'), says: /: ENOTDIR at [^;]+\/file; using state dir/ },
  ];
  for (const c of cases) {
    const started = Date.now();
    const r = await initAfter(`${c.prep} && rm -rf /tmp/berth-${c.uid ?? 0}`, c.state, manifest, c.uid);
    t.is(r.code, 0, `${c.why}: ${r.stdout}${r.stderr}`);
    t.regex(r.stdout, c.says, c.why);
    t.regex(r.stdout, /A-RAN/, c.why);
    t.true(Date.now() - started < 15_000, `${c.why}: took ${Date.now() - started} ms`);
  }
});

test('descriptors run out at spawn (ulimit -n 64, 100 services): those starts fail and are retried, the init runs on and stops cleanly', async (t) => {
  const services = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`s${i}`, { script: 'exec sleep 60', restart: 'on-failure' }]));
  const init = startInit({ manifest: { version: 1, services }, wrap: (argv) => ['sh', '-c', 'ulimit -n 64 && exec "$@"', 'sh', ...argv] });
  t.teardown(() => init.cleanup());
  await init.waitFor(/could not start: cannot make a pipe: EMFILE \(out of file descriptors: see ulimit -n\) \(code 126\); restarting in \d+ ms \(restart #1\)/);
  await init.waitFor(/restart #2\)/);
  t.notRegex(init.output(), /\n\s+at /, 'no stack trace');
  t.is(init.proc.exitCode, null, 'the init runs on');
  await init.signal('SIGTERM');
  t.is((await init.exited).code, 0);
});

test('records that no longer fit (a full tmpfs as the state dir): said once, the services run on, and written again once there is room', async (t) => {
  const dir = tempDir();
  const state = join(dir, 'state');
  mkdirSync(state);
  await run(['mount', '-t', 'tmpfs', '-o', 'size=64k', 'none', state]);
  const init = startInit({ dir, manifest: { version: 1, services: { flappy: { script: 'sleep 0.3; exit 1', restart: 'on-failure' } } } });
  t.teardown(() => init.cleanup());
  // teardowns run last first: the tmpfs goes before the cleanup removes the dir
  t.teardown(() => run(['umount', '-l', state]));
  await init.waitFor('flappy: started');
  await run(['sh', '-c', `head -c 1048576 /dev/zero > ${join(state, 'fill')}; true`]);
  await init.waitFor(/warning: cannot write the state dir's service records: ENOSPC/);
  await init.waitFor(/restart #5\)/);
  rmSync(join(state, 'fill'));
  const record = await waitForRecord(init.stateDir, 'flappy', (r) => Number(r.restarts) >= 6);
  t.true(Number(record.restarts) >= 6, 'the records caught up once there was room');
  t.is(init.output().match(/cannot write the state dir's service records/g)?.length, 1, 'said once');
  await init.signal('SIGTERM');
  t.is((await init.exited).code, 0);
});

test('a service that writes 1 GiB without a newline: relayed in whole 64 KiB pieces, the init stays small', async (t) => {
  const dir = tempDir();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const state = join(dir, 'state');
  const manifest = join(dir, 'manifest.json');
  writeFileSync(manifest, JSON.stringify({ version: 1, services: { flood: { script: "head -c 1073741824 /dev/zero | tr '\\0' x; echo; echo FLOOD-DONE; exec sleep 60" } } }));
  // what reads the init's stdout: the length of every line, nothing kept
  const summary = join(dir, 'summary.json');
  writeFileSync(join(dir, 'count.cjs'), `let len = 0, max = 0, pieces = 0, done = false;
process.stdin.on('data', (b) => { let i = 0; for (;;) { const j = b.indexOf(10, i); if (j < 0) { len += b.length - i; break; } len += j - i; if (len === 65536) pieces++; max = Math.max(max, len); if (b.toString('latin1', i, j) === 'FLOOD-DONE') done = true; len = 0; i = j + 1; } });
process.stdin.on('end', () => require('fs').writeFileSync(${JSON.stringify(summary)}, JSON.stringify({ max, pieces, done })));\n`);
  const child = run(['sh', '-c', `"$@" | ${process.execPath} ${join(dir, 'count.cjs')}`, 'sh', ...berth, 'init', state, '--manifest', manifest]);
  const pid = await waitUntil('the init has taken its state dir', () => {
    try {
      return Number(readFileSync(join(state, 'init.pid'), 'utf8')) || undefined;
    } catch {
      return undefined;
    }
  });
  let maxRss = 0;
  for (const deadline = Date.now() + 180_000; Date.now() < deadline; await sleep(100)) {
    maxRss = Math.max(maxRss, Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024);
    if ((await runBerth(['logs', '--state-dir', state, 'flood', '-n', '1'])).stdout === 'FLOOD-DONE\n') break;
  }
  process.kill(pid, 'SIGTERM');
  t.is((await child).code, 0);
  const { max, pieces, done } = JSON.parse(readFileSync(summary, 'utf8')) as { max: number; pieces: number; done: boolean };
  t.true(done, 'the line after the flood came through');
  t.is(max, 65536, 'no line longer than 64 KiB');
  t.is(pieces, 16384, '1 GiB is 16,384 pieces of 64 KiB, none lost');
  t.true(maxRss < 150 * 2 ** 20, `the init's RSS stayed at ${(maxRss / 2 ** 20).toFixed(1)} MiB`);
});
