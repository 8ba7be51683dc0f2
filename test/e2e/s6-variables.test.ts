// s6-overlay's variables where they map, and the pre-stop delay.
import test from 'ava';
import { execFile } from 'node:child_process';
import { runBerth, startInit } from '../helpers/init.js';

const curlStatus = (url: string): Promise<number> =>
  new Promise((resolve) => execFile('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', url], (_e, out) => resolve(Number(out))));

test('S6_BEHAVIOUR_IF_STAGE2_FAILS=1: a failed oneshot is a warning and the rest goes on; 2 (default) ends the run', async (t) => {
  const manifest = { version: 1, services: { setup: { type: 'oneshot-pre', script: 'exit 4' }, web: { script: 'echo web-up; exec sleep 60' } } };
  const goOn = startInit({ manifest, env: { S6_BEHAVIOUR_IF_STAGE2_FAILS: '1' } });
  t.teardown(() => goOn.cleanup());
  await goOn.waitFor('web-up');
  await goOn.waitFor(/warning: setup failed; S6_BEHAVIOUR_IF_STAGE2_FAILS=1, so the rest goes on/);
  await goOn.signal('SIGTERM');
  t.is((await goOn.exited).code, 0);
  const stop = startInit({ manifest });
  t.teardown(() => stop.cleanup());
  t.is((await stop.exited).code, 4);
  t.notRegex(stop.output(), /web-up/);
  const bad = await runBerth(['init', '/tmp/x', '--manifest', '/nonexistent'], { env: { S6_BEHAVIOUR_IF_STAGE2_FAILS: 'yes' } });
  t.is(bad.code, 2);
  t.regex(bad.stderr, /S6_BEHAVIOUR_IF_STAGE2_FAILS must be 0, 1 or 2, not 'yes'/);
});

test('S6_VERBOSITY=0 keeps only errors; S6_SERVICES_GRACETIME is the services\' grace, S6_KILL_GRACETIME the leftovers\'', async (t) => {
  const init = startInit({
    env: { S6_VERBOSITY: '0', S6_SERVICES_GRACETIME: '300', S6_KILL_GRACETIME: '5000' },
    manifest: { version: 1, services: { deaf: { script: "trap '' TERM; echo deaf-up; while :; do sleep 0.1 || :; done" } } },
  });
  t.teardown(() => init.cleanup());
  await init.waitFor('deaf-up');
  const started = Date.now();
  await init.signal('SIGTERM');
  t.is((await init.exited).code, 0);
  t.true(Date.now() - started < 4000, 'the 300 ms services grace applies, not the 5 s kill grace');
  t.notRegex(init.output(), /\[berth\]/, 'no info lines at verbosity 0');
});

test('BERTH_PRESTOP_DELAY: on SIGTERM the init stays up, not ready, for the delay; a second SIGTERM ends the wait', async (t) => {
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const init = startInit({
    env: { BERTH_PRESTOP_DELAY: '3s', BERTH_HTTP: `127.0.0.1:${port}` },
    manifest: { version: 1, services: { web: { script: 'exec sleep 60' } } },
  });
  t.teardown(() => init.cleanup());
  await init.waitFor('all stages done');
  await init.waitFor('serving /healthz');
  t.is(await curlStatus(`http://127.0.0.1:${port}/readyz`), 200);
  await init.signal('SIGTERM');
  await init.waitFor('stopping the services in 3000 ms (BERTH_PRESTOP_DELAY)');
  t.is(await curlStatus(`http://127.0.0.1:${port}/readyz`), 503, 'not ready while draining');
  const check = await runBerth(['check', '--state-dir', init.stateDir]);
  t.is(check.code, 1);
  t.is(check.stdout, 'not ready: the init is stopping\n');
  t.notRegex(init.output(), /web: sending SIGTERM/, 'the service still runs during the delay');
  const second = Date.now();
  await init.signal('SIGTERM');
  t.is((await init.exited).code, 0);
  t.true(Date.now() - second < 2500, 'the second SIGTERM ends the wait');
  t.regex(init.output(), /SIGTERM again: no more waiting, stopping now/);
});
