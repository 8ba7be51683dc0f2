// PID 1 never hangs: a real init driven to each phase, as PID 1 of a fresh
// PID namespace and as a plain process, and sent SIGTERM there. Each time it
// exits 0 within its grace plus a second of the signal, and nothing it
// started is left running.
import test, { type ExecutionContext } from 'ava';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive, runBerth, sleep, startInit, tempDir, waitUntil, type InitOptions, type InitRun } from '../helpers/init.js';

const GRACE_MS = 1000;
/** What "within the grace plus one second" allows on a loaded 2-core machine: the init's own figure, plus the test's view of it. */
const BOUND_MS = GRACE_MS + 1000 + 1500;

/** Every `started (pid N)` the init logged, as seen from this (the host's) PID namespace only for a plain process. */
function startedPids(out: string): number[] {
  return [...out.matchAll(/: started \(pid (\d+)\)/g)].map((m) => Number(m[1]));
}

async function terminate(t: ExecutionContext, init: InitRun, pid1: boolean): Promise<void> {
  const sent = Date.now();
  await init.signal('SIGTERM');
  const exited = await init.exited;
  const took = Date.now() - sent;
  t.is(exited.code, 0, init.output());
  t.true(took < BOUND_MS, `exited ${took} ms after SIGTERM (bound ${BOUND_MS} ms)`);
  if (!pid1) t.deepEqual(startedPids(init.output()).filter(isAlive), [], 'no service left running');
}

function start(t: ExecutionContext, opts: InitOptions): InitRun {
  const init = startInit({ ...opts, env: { S6_KILL_GRACETIME: String(GRACE_MS), ...opts.env } });
  t.teardown(() => init.cleanup());
  return init;
}

const big = (n: number, script = 'exec sleep 60'): object => ({ version: 1, services: Object.fromEntries(Array.from({ length: n }, (_, i) => [`s${i}`, { script }])) });
/** A YAML manifest of `n` services, each after the one before: seconds to read and check, on any machine. */
const bigYaml = (n: number): string => `version: 1\nservices:\n${Array.from({ length: n }, (_, i) => `  s${i}:\n    script: exec sleep 60\n${i ? `    after: [s${i - 1}]\n` : ''}`).join('')}`;

for (const pid1 of [true, false]) {
  const as = pid1 ? 'as PID 1' : 'as a plain process';

  test.serial(`SIGTERM while it reads a large manifest (${as})`, async (t) => {
    // Node's own start (before any of Berth's code, ~40 ms) is the one window a signal can miss: a preload marks its end
    const dir = tempDir();
    const marker = join(dir, 'node-started');
    writeFileSync(join(dir, 'mark.cjs'), `require('fs').writeFileSync(${JSON.stringify(marker)}, '')\n`);
    const init = start(t, { pid1, dir, manifest: bigYaml(20_000), env: { NODE_OPTIONS: `--require ${join(dir, 'mark.cjs')}` } });
    await waitUntil('node has started', () => existsSync(marker), { timeoutMs: 10_000, everyMs: 5 });
    await sleep(800); // Berth's code is running (Node's start is over, even on a loaded machine), and reading 20,000 services
    t.false(init.output().includes('stage long-run'), 'still reading');
    await terminate(t, init, pid1);
    t.regex(init.output(), /berth init: SIGTERM before any service started; exiting\n/);
    t.deepEqual(startedPids(init.output()), [], 'nothing was started');
  });

  test.serial(`SIGTERM in the middle of a 3,000-service start burst stops the burst (${as})`, async (t) => {
    const init = start(t, { pid1, manifest: big(3000) });
    await init.waitFor(/s5: started/, 30_000);
    await terminate(t, init, pid1);
    const started = startedPids(init.output()).length;
    t.true(started < 3000, `${started} of 3,000 started: the burst stopped at the signal`);
  });

  test(`SIGTERM during a long oneshot-pre (${as})`, async (t) => {
    const init = start(t, { pid1, manifest: { version: 1, services: { migrate: { type: 'oneshot-pre', script: 'exec sleep 60' }, web: { script: 'exec sleep 60' } } } });
    await init.waitFor('migrate: started');
    await terminate(t, init, pid1);
    t.false(init.output().includes('web: started'));
  });

  test(`SIGTERM while a service's readiness is pending (${as})`, async (t) => {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const init = start(t, { pid1, manifest: { version: 1, services: { db: { script: 'exec sleep 60', readiness: { tcp: { port } } }, web: { after: ['db'], script: 'exec sleep 60' } } } });
    await init.waitFor('db: started');
    await terminate(t, init, pid1);
  });

  test(`SIGTERM during a reload (${as})`, async (t) => {
    // the changed service ignores SIGTERM: the reload waits out its stop timeout, and the init's SIGTERM comes meanwhile
    const manifest = (marker: string): object => ({ version: 1, services: { stubborn: { script: `trap 'echo ${marker}-term' TERM; echo ${marker}; while :; do sleep 0.1 || :; done`, stopTimeout: '2s' } } });
    const init = start(t, { pid1, manifest: manifest('one') });
    await init.waitFor(/^one$/m);
    writeFileSync(join(init.dir, 'manifest.json'), JSON.stringify(manifest('two')));
    const reload = runBerth(['reload', '--state-dir', init.stateDir]);
    await init.waitFor('one-term');
    const sent = Date.now();
    await init.signal('SIGTERM');
    t.is((await init.exited).code, 0);
    // the stop already under way keeps its own stop timeout (2 s), the bound's grace
    const took = Date.now() - sent;
    t.true(took < 2000 + BOUND_MS - GRACE_MS, `exited ${took} ms after SIGTERM`);
    t.not((await reload).code, 0, 'the reload says it was cut short');
  });

  test(`SIGTERM during BERTH_PRESTOP_DELAY ends the delay (${as})`, async (t) => {
    const init = start(t, { pid1, env: { BERTH_PRESTOP_DELAY: '60s' }, manifest: { version: 1, services: { web: { script: 'exec sleep 60' } } } });
    await init.waitFor('all stages done');
    await init.signal('SIGTERM');
    await init.waitFor('BERTH_PRESTOP_DELAY');
    await terminate(t, init, pid1);
  });

  test(`a second SIGTERM during the shutdown kills what is left at once (${as})`, async (t) => {
    const init = start(t, { pid1, env: { S6_KILL_GRACETIME: '60000' }, manifest: { version: 1, services: { deaf: { script: "trap '' TERM; echo deaf; while :; do sleep 0.1 || :; done" } } } });
    await init.waitFor(/^deaf$/m);
    await init.signal('SIGTERM');
    await init.waitFor('shutting down');
    await terminate(t, init, pid1);
  });
}
