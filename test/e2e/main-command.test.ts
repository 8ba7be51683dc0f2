// `berth init … -- COMMAND`: the container's CMD as the main program.
import test from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runBerth, startInit, tempDir, type Ran } from '../helpers/init.js';

function runInit(dir: string, manifest: object, command: string[], input: string, env: Record<string, string> = {}): Promise<Ran> {
  writeFileSync(join(dir, 'm.json'), JSON.stringify(manifest));
  return runBerth(['init', join(dir, 'state'), '--manifest', join(dir, 'm.json'), '--', ...command], { env, input });
}

test('the main command runs once the services are ready, gets stdin and its own stderr, and its exit code ends the run', async (t) => {
  const dir = tempDir();
  const r = await runInit(
    dir,
    { version: 1, services: { db: { script: 'sleep 0.3; echo db-ready-now; echo >&3; exec sleep 60', readiness: { notificationFd: 3 } }, seed: { type: 'oneshot-post', after: ['db'], script: 'echo seeded' } } },
    ['sh', '-c', 'read line; echo "main got $line"; echo main-stderr >&2; exit 3'],
    'hello\n',
  );
  t.is(r.code, 3);
  t.true(r.stdout.indexOf('seeded') < r.stdout.indexOf('main got hello'), 'after the services are ready and the post tasks are done');
  t.true(r.stdout.indexOf('db-ready-now') < r.stdout.indexOf('main got hello'));
  t.is(r.stderr, 'main-stderr\n');
  t.regex(r.stdout, /\[berth\] the main command exited with code 3\n[\s\S]*db: stopped[\s\S]*\[berth\] exiting with code 3/);
});

test('a main command that does not exist is 127; S6_CMD_WAIT_FOR_SERVICES_MAXTIME bounds the wait for readiness', async (t) => {
  const dir = tempDir();
  const missing = await runInit(dir, { version: 1, services: { s: { script: 'exec sleep 60' } } }, ['/no/such/command'], '');
  t.is(missing.code, 127);
  t.regex(missing.stdout, /cannot run \/no\/such\/command: not found/);
  const slow = await runInit(dir, { version: 1, services: { never: { script: 'exec sleep 60', readiness: { tcp: { port: 1 } } } } }, ['echo', 'MAIN-RAN'], '', { S6_CMD_WAIT_FOR_SERVICES_MAXTIME: '700' });
  t.is(slow.code, 1);
  t.regex(slow.stdout, /not ready within 700 ms \(S6_CMD_WAIT_FOR_SERVICES_MAXTIME\): never \(starting\); not running echo/);
  t.notRegex(slow.stdout, /MAIN-RAN/);
});

test('as PID 1, SIGTERM stops the main command first, then the services, and the init exits 0', async (t) => {
  const init = startInit({
    pid1: true,
    args: ['--', 'sh', '-c', "trap 'echo main-term; exit 9' TERM; echo main-up; while :; do sleep 0.1 || :; done"],
    manifest: { version: 1, services: { web: { script: "trap 'echo web-term; exit 0' TERM; while :; do sleep 0.1 || :; done" } } },
  });
  t.teardown(() => init.cleanup());
  await init.waitFor('main-up');
  await init.signal('SIGTERM');
  t.is((await init.exited).code, 0);
  const out = init.output();
  t.true(out.indexOf('main-term') < out.indexOf('web-term'), 'the main command goes first');
  t.regex(out, /exiting with code 0/);
});
