// Failure policy, exit codes and restarts, on real processes.
import test from 'ava';
import { chmodSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runBerth, runBerthVia, startInit, sleep, tempDir, waitForRecord, type Ran } from '../helpers/init.js';

test('a failing oneshot-pre stops the run with its exit code, and nothing after it starts', async (t) => {
  const init = startInit({
    manifest: { version: 1, services: { migrate: { type: 'oneshot-pre', script: 'exit 7' }, web: { script: 'echo WEB-STARTED; sleep 30' } } },
  });
  t.teardown(() => init.cleanup());
  t.is((await init.exited).code, 7);
  t.notRegex(init.output(), /WEB-STARTED/);
  t.regex(init.output(), /migrate: exited with code 7/);
  t.regex(init.output(), /shutting down \(migrate failed\)/);
});

test('a long-run that fails without restartOnFailure stops everything with its code', async (t) => {
  const init = startInit({
    manifest: { version: 1, services: { bad: { script: 'sleep 0.3; exit 5' }, good: { script: 'sleep 30' } } },
  });
  t.teardown(() => init.cleanup());
  t.is((await init.exited).code, 5);
  t.regex(init.output(), /good: stopped, killed by SIGTERM/);
});

test('a long-run killed by signal N ends the init with 128+N', async (t) => {
  const init = startInit({ manifest: { version: 1, services: { victim: { script: 'kill -USR1 $$; sleep 5' } } } });
  t.teardown(() => init.cleanup());
  t.is((await init.exited).code, 138);
  t.regex(init.output(), /victim: killed by SIGUSR1 \(code 138\)/);
});

for (const value of ['', '1']) {
  test(`S6_DONT_TERMINATE_ON_ERROR=${JSON.stringify(value)} keeps the init up after a failure until it is signalled`, async (t) => {
    const init = startInit({
      manifest: { version: 1, services: { bad: { script: 'exit 4' }, post: { type: 'oneshot-post', script: 'echo POST-RAN' } } },
      env: { S6_DONT_TERMINATE_ON_ERROR: value },
    });
    t.teardown(() => init.cleanup());
    await init.waitFor('S6_DONT_TERMINATE_ON_ERROR is set');
    await init.waitFor('all stages done');
    t.regex(init.output(), /POST-RAN/);
    // proving that something does not happen needs a window: an init that meant to exit would do so at once
    await sleep(500);
    t.is(init.proc.exitCode, null, 'still running with nothing left to run');
    await init.signal('SIGTERM');
    t.is((await init.exited).code, 0);
  });
}

test('without S6_DONT_TERMINATE_ON_ERROR an unset variable means terminate', async (t) => {
  const init = startInit({ manifest: { version: 1, services: { bad: { script: 'exit 4' } } }, env: { S6_DONT_TERMINATE_ON_ERROR: undefined } });
  t.teardown(() => init.cleanup());
  t.is((await init.exited).code, 4);
});

test('restartOnFailure restarts at once, then backs off, and counts restarts', async (t) => {
  const init = startInit({ manifest: { version: 1, services: { flappy: { script: 'echo try; exit 1', restartOnFailure: true } } } });
  t.teardown(() => init.cleanup());
  await init.waitFor(/restart #4\)/);
  const out = init.output();
  t.regex(out, /flappy: exited with code 1; restarting in 0 ms \(restart #1\)/);
  t.regex(out, /restarting in 100 ms \(restart #2\)/);
  t.regex(out, /restarting in 200 ms \(restart #3\)/);
  t.regex(out, /flappy: failed again the same way \(exited with code 1\); restarting in 100 ms \(restart #2\)/, 'a crash loop says it is one');
  await waitForRecord(init.stateDir, 'flappy', (r) => (r.restarts as number) >= 3);
  await init.signal('SIGTERM');
  t.is((await init.exited).code, 0);
});

test('a restarting long-run that exits 0 is finished, not restarted', async (t) => {
  const init = startInit({ manifest: { version: 1, services: { once: { script: 'exit 0', restartOnFailure: true } } } });
  t.teardown(() => init.cleanup());
  t.is((await init.exited).code, 0);
  t.notRegex(init.output(), /restarting/);
});

test('a missing program is a failure with code 127 and a one-line reason', async (t) => {
  const init = startInit({ manifest: { version: 1, services: { ghost: { execStart: ['/no/such/program', '--flag'] } } } });
  t.teardown(() => init.cleanup());
  t.is((await init.exited).code, 127);
  t.regex(init.output(), /ghost: could not start: program '\/no\/such\/program' not found/);
  t.notRegex(init.output(), /\n\s+at /, 'no stack trace');
});

test('a program that is not executable is a failure with code 126', async (t) => {
  const dir = tempDir();
  writeFileSync(join(dir, 'plain.txt'), 'not a program\n', { mode: 0o644 });
  const init = startInit({ dir, manifest: { version: 1, services: { noexec: { execStart: ['./plain.txt'] } } } });
  t.teardown(() => init.cleanup());
  t.is((await init.exited).code, 126);
  t.regex(init.output(), /noexec: could not start: program '.*\/plain\.txt' is not executable/);
});

test('a missing workingDirectory is a failure that says so', async (t) => {
  const init = startInit({ manifest: { version: 1, services: { lost: { execStart: ['/bin/true'], workingDirectory: '/no/such/dir' } } } });
  t.teardown(() => init.cleanup());
  t.is((await init.exited).code, 126);
  t.regex(init.output(), /working directory \/no\/such\/dir does not exist/);
});

test('an unknown user is an error before anything starts (exit 2)', async (t) => {
  const init = startInit({
    manifest: { version: 1, services: { pre: { type: 'oneshot-pre', script: 'echo PRE-RAN' }, web: { script: 'sleep 1', user: 'no-such-user-xyz' } } },
  });
  t.teardown(() => init.cleanup());
  t.is((await init.exited).code, 2);
  t.regex(init.output(), /services\.web\.user: unknown user 'no-such-user-xyz'/);
  t.notRegex(init.output(), /PRE-RAN/);
});

test('user runs the service with that uid, gid and supplementary groups', async (t) => {
  const init = startInit({ manifest: { version: 1, services: { who: { script: 'id -u; id -g; id -G; echo "HOME=$HOME"', user: 'daemon:adm' } } } });
  t.teardown(() => init.cleanup());
  t.is((await init.exited).code, 0);
  const lines = init.output().split('\n').filter((l) => !l.startsWith('[berth]'));
  t.deepEqual(lines.slice(0, 4), ['1', '4', '4', 'HOME=/usr/sbin']);
});

test('a manifest that does not validate starts nothing and exits 2', async (t) => {
  const init = startInit({ manifest: 'version: 1\nservices:\n  a: { script: "echo A-RAN", after: [nope] }\n' });
  t.teardown(() => init.cleanup());
  t.is((await init.exited).code, 2);
  t.regex(init.output(), /manifest\.yaml:3:\d+: services\.a\.after\[0\]/);
  t.regex(init.output(), /nothing was started/);
  t.notRegex(init.output(), /A-RAN/);
});

test('S6_KILL_GRACETIME that is not a number is an error before anything starts', async (t) => {
  const init = startInit({ manifest: { version: 1, services: { a: { script: 'echo A-RAN' } } }, env: { S6_KILL_GRACETIME: '3s' } });
  t.teardown(() => init.cleanup());
  t.is((await init.exited).code, 2);
  t.regex(init.output(), /S6_KILL_GRACETIME must be a whole number/);
});

test('user honours supplementary groups from the image /etc/group', async (t) => {
  // a private mount namespace shows the init an image-like /etc/passwd and /etc/group
  const dir = tempDir();
  writeFileSync(join(dir, 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nalice:x:1500:1500:Alice:/home/alice:/bin/sh\n');
  writeFileSync(join(dir, 'group'), 'root:x:0:\nalice:x:1500:\nwheel:x:1600:alice,bob\naudio:x:1601:alice\nvideo:x:1602:bob\n');
  const init = startInit({
    dir,
    manifest: { version: 1, services: { who: { script: 'echo "ids $(id -u) $(id -g) $(id -G | tr " " "\\n" | sort -n | tr "\\n" " ")HOME=$HOME USER=$USER"', user: 'alice' } } },
    wrap: (argv) => ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', `mount --bind ${dir}/passwd /etc/passwd && mount --bind ${dir}/group /etc/group && exec "$@"`, 'sh', ...argv],
  });
  t.teardown(() => init.cleanup());
  t.is((await init.exited).code, 0, init.output());
  t.regex(init.output(), /^ids 1500 1500 1500 1600 1601 HOME=\/home\/alice USER=alice$/m);
});

test('a state dir that cannot be used falls back to $TMPDIR/berth-UID, then /dev/shm/berth-UID, then to none; the services run either way', async (t) => {
  const dir = tempDir();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'a-file'), '');
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ version: 1, services: { a: { script: 'echo A-RAN' } } }));
  const bad = join(dir, 'a-file', 'state');
  const uid = process.getuid!();
  const fallback = await runBerth(['init', bad, '--manifest', join(dir, 'manifest.json')], { env: { TMPDIR: dir } });
  t.is(fallback.code, 0, fallback.stderr);
  t.regex(fallback.stdout, /A-RAN/);
  t.true(fallback.stdout.includes(`[berth] cannot use state dir ${bad}: ENOTDIR at ${join(dir, 'a-file')}; using state dir ${join(dir, `berth-${uid}`)} instead\n`), fallback.stdout);
  t.true(existsSync(join(dir, `berth-${uid}`, 'services', 'a.json')));

  // in a mount namespace of its own: a private /dev/shm, writable or read-only
  const inMountNs = (shm: 'rw' | 'ro'): Promise<Ran> =>
    runBerthVia(['unshare', '--mount', '--propagation', 'private', 'sh', '-c', `mount -t tmpfs -o ${shm} none /dev/shm && exec "$@"`, 'sh'], ['init', bad, '--manifest', join(dir, 'manifest.json')], { env: { TMPDIR: join(dir, 'a-file') } });
  const shm = await inMountNs('rw');
  t.is(shm.code, 0, shm.stdout);
  t.regex(shm.stdout, new RegExp(`ENOTDIR at [^;]+; using state dir /dev/shm/berth-${uid} instead`));
  const none = await inMountNs('ro');
  t.is(none.code, 0, none.stdout);
  t.regex(none.stdout, /A-RAN/);
  t.regex(none.stdout, /warning: cannot use state dir .*: ENOTDIR at [^;]+; cannot use state dir .*: ENOTDIR at [^;]+; cannot use state dir \/dev\/shm\/berth-\d+: E[A-Z]+; running without a state dir: berth status and the control commands cannot reach this init/);
});

test('a state dir a live init owns is still exit 2: never a reason to fall back', async (t) => {
  const first = startInit({ manifest: { version: 1, services: { svc: { script: 'sleep 30' } } } });
  t.teardown(() => first.cleanup());
  await first.waitFor('all stages done');
  const dir = tempDir();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ version: 1, services: { a: { script: 'echo A-RAN' } } }));
  const run = await runBerth(['init', first.stateDir, '--manifest', join(dir, 'manifest.json')], { env: { TMPDIR: dir } });
  t.is(run.code, 2);
  t.regex(run.stderr, /is in use by a running init/);
  t.notRegex(run.stdout, /A-RAN/);
});

test('user: needs root; as another uid it is an error before anything starts', async (t) => {
  const dir = tempDir();
  chmodSync(dir, 0o777);
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ version: 1, services: { a: { script: 'echo A-RAN' }, b: { script: 'id', user: 'root' } } }));
  const ran = await runBerthVia(['setpriv', '--reuid', '65534', '--regid', '65534', '--clear-groups'], ['init', join(dir, 'state'), '--manifest', join(dir, 'manifest.json')]);
  const run = { code: ran.code, out: ran.stdout + ran.stderr };
  t.is(run.code, 2, run.out);
  t.regex(run.out, /services\.b\.user: switching to user 'root' needs the init to run as root \(it runs as uid 65534\)/);
  t.notRegex(run.out, /A-RAN/);
});

test('losing the state dir records is reported, and the services keep running', async (t) => {
  const init = startInit({ manifest: { version: 1, services: { flappy: { script: 'sleep 0.2; exit 1', restartOnFailure: true } } } });
  t.teardown(() => init.cleanup());
  await init.waitFor('flappy: started');
  rmSync(join(init.stateDir, 'services'), { recursive: true, force: true });
  await init.waitFor(/warning: cannot write the state dir's service records/);
  await init.waitFor(/restart #3\)/);
  await init.signal('SIGTERM');
  t.is((await init.exited).code, 0);
});

test('without a manifest, berth init says where it looked and names --manifest and BERTH_MANIFEST (exit 2)', async (t) => {
  const dir = tempDir();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  if (!existsSync('/etc/berth/manifest.json')) {
    const none = await runBerth(['init', join(dir, 'state')], { cwd: dir, env: { BERTH_MANIFEST: '' } });
    t.is(none.code, 2);
    t.regex(none.stderr, /berth init: no manifest at \/etc\/berth\/manifest\.json \(the default\); name one with --manifest FILE or BERTH_MANIFEST=FILE/);
  }
  const missing = join(dir, 'nope.yaml');
  const fromEnv = await runBerth(['init', join(dir, 'state')], { cwd: dir, env: { BERTH_MANIFEST: missing } });
  t.is(fromEnv.code, 2);
  t.true(fromEnv.stderr.includes(`berth init: no manifest at ${missing} (from BERTH_MANIFEST); name one with --manifest FILE or BERTH_MANIFEST=FILE; nothing was started\n`), fromEnv.stderr);
  const fromFlag = await runBerth(['init', join(dir, 'state'), '--manifest', missing], { cwd: dir });
  t.regex(fromFlag.stderr, /no manifest at .*nope\.yaml \(given with --manifest\)/);
});
