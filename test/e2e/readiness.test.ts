// Readiness, liveness, dependencies between long-runs and per-service
// policies, on real processes.
import test from 'ava';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runBerth, startInit, tempDir, waitForRecord } from '../helpers/init.js';

const lineIndex = (out: string, pattern: RegExp): number => {
  const m = pattern.exec(out);
  return m ? m.index : -1;
};

test('a long-run after another starts only once that one is ready (notification-fd), and waits through its restart', async (t) => {
  const dir = tempDir();
  const go = join(dir, 'go');
  const init = startInit({
    dir,
    manifest: {
      version: 1,
      services: {
        // the first run dies before it is ready; the second is ready once the test says so
        db: {
          script: `if [ ! -f ${dir}/ran ]; then touch ${dir}/ran; echo db-crash; exit 1; fi; while [ ! -f ${go} ]; do sleep 0.05; done; echo >&3; exec sleep 60`,
          readiness: { notificationFd: 3 },
          restart: 'on-failure',
        },
        web: { after: ['db'], script: 'echo web-running; exec sleep 60' },
        report: { type: 'oneshot-post', after: ['web'], script: 'echo post-ran' },
      },
    },
  });
  t.teardown(() => init.cleanup());
  await init.waitFor(/db: exited with code 1; restarting in 0 ms/);
  await waitForRecord(init.stateDir, 'db', (r) => r.state === 'starting' && r.restarts === 1);
  await new Promise((r) => setTimeout(r, 500));
  t.is((await waitForRecord(init.stateDir, 'web', () => true)).state, 'down', 'web waits while db is not ready');
  t.false(init.output().includes('web-running'));
  const early = await runBerth(['check', '--state-dir', init.stateDir]);
  t.is(early.code, 1);
  t.regex(early.stdout, /^not ready: .*db \(starting\)/);
  writeFileSync(go, '');
  // the init's lines of a burst are written after it: wait for the last one, not for the task's own output
  const out = await init.waitFor(/\[berth\] report: exited with code 0/);
  t.true(lineIndex(out, /\[berth\] web: started/) > lineIndex(out, /\[berth\] db: ready/), `web starts once db is ready:\n${out}`);
  t.notRegex(out, /web: (exited|killed|not started)/, 'the dependency restarting makes web wait, not fail');
  const db = await waitForRecord(init.stateDir, 'db', (r) => r.state === 'up');
  t.is(db.ready, true);
  const web = await waitForRecord(init.stateDir, 'web', (r) => r.state === 'up');
  t.is(web.ready, null);
  t.is((await runBerth(['check', '--state-dir', init.stateDir])).code, 0);
});

test('an http readiness probe gates a oneshot-post; berth check answers not ready until then', async (t) => {
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const init = startInit({
    manifest: {
      version: 1,
      services: {
        api: {
          // listens once the test says so: the checks below see it not ready, however long they take to start
          execStart: [process.execPath, '-e', `const go = () => require('fs').existsSync('listen') ? require('http').createServer((q, s) => s.end(q.url)).listen(${port}, () => console.log('listening')) : setTimeout(go, 50); go()`],
          readiness: { http: { port, path: '/health' }, interval: '100ms', timeout: '500ms' },
        },
        smoke: { type: 'oneshot-post', after: ['api'], execStart: [process.execPath, '-e', `require('http').get('http://127.0.0.1:${port}/x', (r) => { console.log('smoke got', r.statusCode); process.exit(r.statusCode === 200 ? 0 : 1) })`] },
      },
    },
  });
  t.teardown(() => init.cleanup());
  await init.waitFor('api: started');
  const early = await runBerth(['check', '--state-dir', init.stateDir, 'api']);
  t.is(early.code, 1);
  t.is(early.stdout, 'not ready: api (starting)\n');
  const live = await runBerth(['check', '--live', '--state-dir', init.stateDir]);
  t.is(live.code, 0, live.stdout);
  writeFileSync(join(init.dir, 'listen'), '');
  await init.waitFor('smoke got 200');
  const out = await init.waitFor(/\[berth\] smoke: exited with code 0/);
  t.true(lineIndex(out, /api: ready/) > lineIndex(out, /listening/));
  t.is((await runBerth(['check', '--ready', '--state-dir', init.stateDir, 'api'])).code, 0);
  const unknown = await runBerth(['check', '--state-dir', init.stateDir, 'apj']);
  t.is(unknown.code, 2);
  t.regex(unknown.stderr, /did you mean 'api'/);
});

test('startTimeout: a service never ready in time fails, with the reason', async (t) => {
  const init = startInit({
    manifest: { version: 1, services: { stuck: { script: 'exec sleep 60', readiness: { tcp: { port: 1 }, interval: '100ms' }, startTimeout: '800ms' } } },
  });
  t.teardown(() => init.cleanup());
  const exit = await init.exited;
  t.is(exit.code, 143);
  t.regex(init.output(), /stuck: not ready within 800 ms: sending SIGTERM/);
  t.regex(init.output(), /stuck: killed by SIGTERM \(code 143\) after not ready within 800 ms/);
});

test('liveness: failureThreshold failures in a row restart the service, logged with the last answer', async (t) => {
  const dir = tempDir();
  const flag = join(dir, 'healthy');
  writeFileSync(flag, '');
  const init = startInit({
    dir,
    manifest: { version: 1, services: { app: { script: 'echo app-$$; exec sleep 60', liveness: { exec: ['test', '-f', flag], interval: '150ms', failureThreshold: 2 } } } },
  });
  t.teardown(() => init.cleanup());
  await init.waitFor('app: started');
  await new Promise((r) => setTimeout(r, 700));
  t.notRegex(init.output(), /liveness/, 'a passing check does nothing');
  rmSync(flag);
  await init.waitFor(/app: liveness check failed 2 times in a row \(last: exit code 1\): sending SIGTERM/);
  await init.waitFor(/restart #1/);
  t.regex(init.output(), /app: killed by SIGTERM \(code 143\) after liveness check failed 2 times in a row \(last: exit code 1\); restarting in 0 ms \(restart #1\)/);
  writeFileSync(flag, '');
  t.is(init.proc.exitCode, null);
});

test('policies: successExitCodes, stopSignal, stopTimeout, maxRestarts and essential: false', async (t) => {
  const init = startInit({
    env: { S6_KILL_GRACETIME: '10000' },
    manifest: {
      version: 1,
      services: {
        fine: { script: 'exit 3', successExitCodes: [0, 3] },
        polite: { script: "trap 'echo got-int; exit 0' INT; echo polite-up; while :; do sleep 0.1 || :; done", stopSignal: 'INT' },
        deaf: { script: "trap '' TERM; echo deaf-up; while :; do sleep 0.1 || :; done", stopTimeout: '500ms' },
        flappy: { script: 'exit 4', restart: 'on-failure', maxRestarts: 2, essential: false },
        keep: { script: 'exec sleep 60' },
      },
    },
  });
  t.teardown(() => init.cleanup());
  await init.waitFor('polite-up');
  await init.waitFor('deaf-up');
  await init.waitFor(/flappy: exited with code 4; not restarted: 2 restarts within 60000 ms already \(maxRestarts\)/);
  await init.waitFor('flappy failed; it is not essential');
  t.regex(init.output(), /fine: exited with code 3\n/);
  t.is((await waitForRecord(init.stateDir, 'fine', (r) => r.state !== 'up')).state, 'finished');
  t.is(init.proc.exitCode, null, 'a non-essential failure does not end the run');
  const stop = await runBerth(['stop', '--state-dir', init.stateDir, 'polite']);
  t.is(stop.code, 0);
  await init.waitFor('got-int');
  t.regex(init.output(), /polite: sending SIGINT/);
  const started = Date.now();
  const deaf = await runBerth(['stop', '--state-dir', init.stateDir, 'deaf']);
  t.is(deaf.code, 0);
  const took = Date.now() - started;
  t.true(took < 5000, `stopTimeout 500ms, not the 10 s grace: took ${took} ms`);
  t.regex(init.output(), /deaf: sending SIGKILL/);
  await init.signal('SIGTERM');
  t.is((await init.exited).code, 0);
});

test('shutdown stops dependents before what they depend on', async (t) => {
  const dir = tempDir();
  const stamp = (name: string): string => `date +%s%N > ${dir}/${name}`;
  const init = startInit({
    dir,
    manifest: {
      version: 1,
      services: {
        db: { script: `trap '${stamp('db-term')}; exit 0' TERM; echo >&3; while :; do sleep 0.05 || :; done`, readiness: { notificationFd: 3 } },
        web: { after: ['db'], script: `trap 'sleep 0.3; ${stamp('web-done')}; exit 0' TERM; while :; do sleep 0.05 || :; done` },
      },
    },
  });
  t.teardown(() => init.cleanup());
  await init.waitFor('all stages done');
  await init.signal('SIGTERM');
  t.is((await init.exited).code, 0);
  const at = (name: string): bigint => BigInt(readFileSync(join(dir, name), 'utf8').trim());
  t.true(at('web-done') < at('db-term'), 'db gets its TERM only once web is gone');
  const out = init.output();
  t.true(lineIndex(out, /web: stopped/) < lineIndex(out, /db: sending SIGTERM/));
});

test('a run of a second or more restarts at once; quick deaths in a row back off', async (t) => {
  const init = startInit({
    manifest: { version: 1, services: { s: { script: 'sleep 1.2; exit 1', restart: 'on-failure' }, q: { script: 'exit 1', restart: 'on-failure' } } },
  });
  t.teardown(() => init.cleanup());
  await init.waitFor(/s: failed again the same way \(exited with code 1\); restarting in 0 ms \(restart #2\)/, 30_000);
  t.regex(init.output(), /q: exited with code 1; restarting in 0 ms \(restart #1\)/);
  t.regex(init.output(), /q: failed again the same way \(exited with code 1\); restarting in 100 ms \(restart #2\)/);
});
