// The service lifecycle on a fake host: the table, the exit rule and the
// runner, without processes.
import test from 'ava';
import { decideExit, STATES, step, type Context, type Policy, type State } from '../../src/supervisor/lifecycle.js';
import { restartDelay, RESTART_POLICY } from '../../src/supervisor/backoff.js';
import { ServiceRunner, type Observer, type Processes, type TransitionEvent } from '../../src/supervisor/service.js';
import type { Exit, Running } from '../../src/launch/spawn.js';
import type { Service } from '../../src/manifest/index.js';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';

const longRun: Policy = { type: 'long-run', restart: 'no', successExitCodes: [0], readiness: false, stopSignal: 'SIGTERM', stopTimeoutMs: 3000, liveness: false };
/** What every exit does first: the process's timers end with it. */
const gone = [{ do: 'cancel-timer', timer: 'kill' }, { do: 'cancel-timer', timer: 'start' }] as const;
const ctx = (state: State, policy: Policy = longRun, want: 'up' | 'down' = 'up'): Context => ({ state, want, policy, streak: 0, recentRestarts: 0 });
const exit = (code: number | null, signal: NodeJS.Signals | null = null): Exit => ({ code, signal });

test('decideExit: success finishes, failure fails, and a restart policy restarts long-runs only', (t) => {
  t.is(decideExit(exit(0), longRun), 'finished');
  t.is(decideExit(exit(3), longRun), 'failed');
  t.is(decideExit(exit(null, 'SIGKILL'), longRun), 'failed');
  t.is(decideExit(exit(3), { ...longRun, restart: 'on-failure' }), 'restart');
  t.is(decideExit(exit(0), { ...longRun, restart: 'on-failure' }), 'finished');
  t.is(decideExit(exit(0), { ...longRun, restart: 'always' }), 'restart');
  t.is(decideExit(exit(143), { ...longRun, successExitCodes: [0, 143] }), 'finished');
  t.is(decideExit({ code: 0, signal: null, reason: 'could not start' }, longRun), 'failed');
  t.is(decideExit(exit(3), { ...longRun, type: 'oneshot-pre', restart: 'always' }), 'failed');
});

test('an exit while the operator wants the service down is a stop, never a failure', (t) => {
  for (const e of [exit(0), exit(1), exit(null, 'SIGKILL')]) {
    const s = step(ctx('stopping', { ...longRun, restart: 'always' }, 'down'), { kind: 'exited', exit: e, uptimeMs: 5 });
    t.deepEqual(s, { to: 'stopped', want: 'down', actions: [...gone], exit: e });
  }
});

test('a failure reports the shell exit code: 128+N for a signal', (t) => {
  t.deepEqual(step(ctx('up'), { kind: 'exited', exit: exit(null, 'SIGKILL'), uptimeMs: 5 })?.actions, [...gone, { do: 'report-failure', code: 137 }]);
  t.deepEqual(step(ctx('up'), { kind: 'exited', exit: exit(4), uptimeMs: 5 })?.actions, [...gone, { do: 'report-failure', code: 4 }]);
});

test('a restart is immediate the first time, then backs off while failures stay quick', (t) => {
  const policy = { ...longRun, restart: 'on-failure' as const };
  let c = ctx('up', policy);
  const delays: number[] = [];
  for (let i = 0; i < 5; i++) {
    const s = step(c, { kind: 'exited', exit: exit(1), uptimeMs: 10 })!;
    t.is(s.to, 'backoff');
    delays.push(s.delayMs!);
    t.deepEqual(s.actions, [...gone, s.delayMs === 0 ? { do: 'spawn' } : { do: 'arm-timer', timer: 'restart', delayMs: s.delayMs! }]);
    c = { ...c, state: 'up', streak: s.streak! };
  }
  t.deepEqual(delays, [0, 100, 200, 400, 800]);
  const healthy = step({ ...c, streak: 4 }, { kind: 'exited', exit: exit(1), uptimeMs: 1000 })!;
  t.is(healthy.delayMs, 0, 'a run of a second or more restarts at once');
});

test('maxRestarts: within the window a restart is allowed until the limit, then the failure is final', (t) => {
  const policy: Policy = { ...longRun, restart: 'on-failure', maxRestarts: 2 };
  t.is(decideExit(exit(1), policy, 1), 'restart');
  t.is(decideExit(exit(1), policy, 2), 'gave-up');
  t.is(decideExit(exit(0), { ...policy, restart: 'always' }, 2), 'finished');
  const s = step({ ...ctx('up', policy), recentRestarts: 2 }, { kind: 'exited', exit: exit(1), uptimeMs: 5 })!;
  t.is(s.to, 'failed');
  t.true(s.gaveUp);
});

test('an exit the init caused (not ready in time, failing liveness) is a failure whatever its code; liveness restarts regardless of policy', (t) => {
  t.is(decideExit({ code: 0, signal: null, cause: 'not ready within 5 ms' }, longRun), 'failed');
  t.is(decideExit({ code: 0, signal: null, cause: 'liveness', restartAnyway: true }, longRun), 'restart');
  const interrupted = { ...longRun, stopSignal: 'SIGINT' as const, stopTimeoutMs: 700 };
  const condemned = { cause: 'liveness', restartAnyway: true };
  t.deepEqual(step(ctx('starting', interrupted), { kind: 'unhealthy', cause: 'liveness' }), {
    to: 'stopping',
    want: 'up',
    actions: [{ do: 'cancel-timer', timer: 'start' }, { do: 'signal', signal: 'SIGINT' }, { do: 'arm-timer', timer: 'kill', delayMs: 700 }],
    signal: 'SIGINT',
    condemned,
  });
  t.is(step(ctx('down'), { kind: 'unhealthy', cause: 'liveness' }), null);
  const judged = step({ ...ctx('stopping'), condemned }, { kind: 'exited', exit: exit(0), uptimeMs: 5 })!;
  t.is(judged.to, 'backoff', 'the exit of a condemned process goes through the restart policy as a failure');
  t.deepEqual(judged.exit, { code: 0, signal: null, ...condemned });
  t.is(judged.condemned, null, 'and the condemnation ends with the process');
});

test('hold (the shutdown): no restart and no signal yet for what runs; what does not run is stopped', (t) => {
  t.deepEqual(step(ctx('up'), { kind: 'hold' }), { to: 'up', want: 'down', actions: [] });
  t.deepEqual(step(ctx('backoff'), { kind: 'hold' }), { to: 'stopped', want: 'down', actions: [{ do: 'cancel-timer', timer: 'restart' }] });
  t.is(step(ctx('down'), { kind: 'hold' })?.to, 'stopped');
  const held = step(ctx('up', { ...longRun, restart: 'always' }, 'down'), { kind: 'exited', exit: exit(1), uptimeMs: 5 });
  t.is(held?.to, 'stopped', 'a held service that dies is not restarted');
});

test('restartDelay: capped, and reset by a run that lasted', (t) => {
  t.is(restartDelay(50, 10).delayMs, RESTART_POLICY.maxDelayMs);
  t.deepEqual(restartDelay(5, RESTART_POLICY.resetAfterMs), { delayMs: 0, streak: 1 });
});

test('stop: a running service is signalled, a pending restart is cancelled, an idle one just stays down', (t) => {
  t.deepEqual(step(ctx('up'), { kind: 'stop', signal: 'SIGTERM' }), { to: 'stopping', want: 'down', actions: [{ do: 'signal', signal: 'SIGTERM' }, { do: 'arm-timer', timer: 'kill', delayMs: 3000 }], signal: 'SIGTERM' });
  t.deepEqual(step(ctx('backoff'), { kind: 'stop', signal: 'SIGTERM' }), { to: 'stopped', want: 'down', actions: [{ do: 'cancel-timer', timer: 'restart' }] });
  t.deepEqual(step(ctx('finished'), { kind: 'stop', signal: 'SIGTERM' }), { to: 'finished', want: 'down', actions: [] });
  t.is(step(ctx('stopping', longRun, 'down'), { kind: 'stop', signal: 'SIGTERM' }), null);
  t.deepEqual(step(ctx('stopping'), { kind: 'stop', signal: 'SIGTERM' }), { to: 'stopping', want: 'down', actions: [] }, 'a stop while the init ends it as a failure turns it into a stop');
  t.deepEqual(step(ctx('stopping'), { kind: 'kill' })?.actions, [{ do: 'signal', signal: 'SIGKILL' }]);
});

test('start: only a service that does not run is spawned; a start in backoff restarts now', (t) => {
  for (const state of ['down', 'stopped', 'finished', 'failed'] as const) t.deepEqual(step(ctx(state), { kind: 'start' })?.actions, [{ do: 'spawn' }]);
  for (const state of ['starting', 'up', 'stopping'] as const) t.is(step(ctx(state), { kind: 'start' }), null);
  t.deepEqual(step(ctx('backoff'), { kind: 'start' })?.actions, [{ do: 'cancel-timer', timer: 'restart' }, { do: 'spawn' }]);
});

test('a service with readiness is starting until it is ready', (t) => {
  const policy = { ...longRun, readiness: true };
  t.is(step(ctx('down', policy), { kind: 'spawned', pid: 5 })?.to, 'starting');
  t.is(step(ctx('starting', policy), { kind: 'ready' })?.to, 'up');
  t.is(step(ctx('down'), { kind: 'spawned', pid: 5 })?.to, 'up');
});

test('every state has a row, and docs/state-dir.md describes every state', (t) => {
  const doc = readFileSync(new URL('../../../docs/state-dir.md', import.meta.url), 'utf8');
  for (const state of Object.keys(STATES)) {
    t.not(step(ctx(state as State), { kind: 'exited', exit: exit(0), uptimeMs: 1 }), undefined);
    t.regex(doc, new RegExp(`\\| \`${state}\` \\|`), `docs/state-dir.md lacks ${state}`);
  }
});

/** A host whose processes are promises the test settles. */
class FakeHost implements Processes, Observer {
  events: TransitionEvent[] = [];
  failures: number[] = [];
  exits: Array<(e: Exit) => void> = [];
  constructor(private nextPid = 100) {}
  spawn(): Running {
    return { pid: this.nextPid++, exited: new Promise<Exit>((resolve) => this.exits.push(resolve)) };
  }
  logger(): undefined {
    return undefined;
  }
  watchLiveness(): void {}
  limitFields(): Record<string, never> {
    return {};
  }
  reported(): Record<string, never> {
    return {};
  }
  observe(e: TransitionEvent): void {
    this.events.push(e);
  }
  failed(_r: ServiceRunner, code: number): void {
    this.failures.push(code);
  }
  path(): string {
    return this.events.map((e) => e.to).join(' ');
  }
}

const service = (over: Partial<Service> = {}): Service => ({
  name: 'svc', type: 'long-run', argv: ['/bin/true'], restartOnFailure: false, environment: {}, after: [], enable: true, tty: false, logging: { format: 'plain', timestamps: false }, limits: {}, environmentFiles: [], environmentFromFiles: {},
  restart: over.restartOnFailure ? 'on-failure' : 'no', successExitCodes: [0], stopSignal: 'SIGTERM', restartWindowMs: 60_000, essential: true, ...over,
});
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

test('runner: start, crash, immediate restart, operator stop: one event per transition, in order', async (t) => {
  const host = new FakeHost();
  const r = new ServiceRunner(service({ restartOnFailure: true }), host, host, 3000);
  r.start();
  t.is(r.pid, 100);
  host.exits[0](exit(2));
  await tick();
  t.is(r.pid, 101);
  t.is(r.restarts, 1);
  r.stop();
  t.is(r.state, 'stopping');
  host.exits[1](exit(null, 'SIGTERM'));
  await r.idle();
  t.is(host.path(), 'up backoff up stopping stopped');
  t.deepEqual(host.events.map((e) => [e.from, e.to, e.pid]), [['down', 'up', 100], ['up', 'backoff', 100], ['backoff', 'up', 101], ['up', 'stopping', 101], ['stopping', 'stopped', 101]]);
  t.is(host.events[1].exit?.code, 2);
  t.is(host.events[1].delayMs, 0);
  t.is(host.events[3].signal, 'SIGTERM');
  t.deepEqual(host.failures, []);
  t.is(r.record().want, 'down');
});

test('runner: a failure without a restart policy is reported once, and a later start runs it again', async (t) => {
  const host = new FakeHost();
  const r = new ServiceRunner(service(), host, host, 3000);
  r.start();
  host.exits[0](exit(null, 'SIGSEGV'));
  await r.idle();
  t.is(r.state, 'failed');
  t.deepEqual(host.failures, [139]);
  t.true(r.start());
  t.is(r.state, 'up');
  t.is(r.pid, 101);
});

test('runner: a second quick failure waits in backoff, and a stop cancels the wait', async (t) => {
  const host = new FakeHost();
  const r = new ServiceRunner(service({ restartOnFailure: true }), host, host, 3000);
  r.start();
  host.exits[0](exit(1));
  await tick();
  host.exits[1](exit(1));
  await tick();
  t.is(r.state, 'backoff');
  t.true(r.active);
  r.stop();
  t.is(r.state, 'stopped');
  t.false(r.active);
  t.is(host.exits.length, 2);
});

test('signal: for the main process of a running or stopping service only, and the state stays', (t) => {
  for (const state of ['starting', 'up', 'stopping'] as const) {
    t.deepEqual(step(ctx(state), { kind: 'signal', signal: 'SIGHUP' }), { to: state, want: 'up', actions: [{ do: 'signal-main', signal: 'SIGHUP' }] });
  }
  for (const state of ['down', 'backoff', 'stopped', 'finished', 'failed'] as const) t.is(step(ctx(state), { kind: 'signal', signal: 'SIGHUP' }), null, state);
});

test('the start timeout: armed at the spawn of a service with readiness, cancelled when it is ready, a failure (no forced restart) when it fires first', (t) => {
  const policy: Policy = { ...longRun, readiness: true, startTimeoutMs: 250, liveness: true };
  t.deepEqual(step(ctx('down', policy), { kind: 'spawned', pid: 5 })?.actions, [{ do: 'arm-timer', timer: 'start', delayMs: 250 }]);
  t.deepEqual(step(ctx('starting', policy), { kind: 'ready' })?.actions, [{ do: 'cancel-timer', timer: 'start' }, { do: 'watch-liveness' }]);
  const late = step(ctx('starting', policy), { kind: 'start-timeout' })!;
  t.is(late.to, 'stopping');
  t.deepEqual(late.condemned, { cause: 'not ready within 250 ms', restartAnyway: false });
  t.is(step(ctx('up', policy), { kind: 'start-timeout' }), null, 'a timer that fires after the service became ready changes nothing');
  t.deepEqual(step(ctx('down', { ...longRun, liveness: true }), { kind: 'spawned', pid: 5 })?.actions, [{ do: 'watch-liveness' }], 'without readiness: up at once, and watched');
});

test('extend-timeout (sd_notify EXTEND_TIMEOUT_USEC): re-arms the start timer while starting, never shortens it, needs a startTimeout', (t) => {
  const policy: Policy = { ...longRun, readiness: true, startTimeoutMs: 250, liveness: false };
  t.deepEqual(step(ctx('starting', policy), { kind: 'extend-timeout', ms: 5000, remainingMs: 100 }), { to: 'starting', want: 'up', actions: [{ do: 'arm-timer', timer: 'start', delayMs: 5000 }] });
  t.is(step(ctx('starting', policy), { kind: 'extend-timeout', ms: 50, remainingMs: 100 }), null, 'less than it has left: unchanged');
  t.is(step(ctx('starting', { ...policy, startTimeoutMs: undefined }), { kind: 'extend-timeout', ms: 5000, remainingMs: 0 }), null, 'no start timeout: nothing to extend');
  for (const state of ['up', 'stopping', 'down', 'backoff'] as const) t.is(step(ctx(state, policy), { kind: 'extend-timeout', ms: 5000, remainingMs: 0 }), null, state);
});

test('watchdog: a service that is up is ended as a failure with SIGABRT (SIGKILL after its stop timeout), its restart policy applies, its exit says watchdog', (t) => {
  const policy: Policy = { ...longRun, restart: 'on-failure', readiness: true, liveness: false };
  const missed = step(ctx('up', policy), { kind: 'watchdog', cause: 'no WATCHDOG=1 within 500 ms' })!;
  t.like(missed, { to: 'stopping', want: 'up', signal: 'SIGABRT', condemned: { cause: 'no WATCHDOG=1 within 500 ms', restartAnyway: false, watchdog: true } });
  t.deepEqual(missed.actions.filter((a) => a.do === 'signal'), [{ do: 'signal', signal: 'SIGABRT' }]);
  const gone = step({ ...ctx('stopping', policy), condemned: missed.condemned! }, { kind: 'exited', exit: { code: null, signal: 'SIGABRT' }, uptimeMs: 5000 })!;
  t.like(gone, { to: 'backoff', exit: { watchdog: true, cause: 'no WATCHDOG=1 within 500 ms' } });
  t.like(step(ctx('starting', policy), { kind: 'watchdog', cause: 'x' }), { to: 'stopping', signal: 'SIGABRT' }, 'READY=1 came, the runner has not heard it yet');
  for (const state of ['stopping', 'down', 'backoff'] as const) t.is(step(ctx(state, policy), { kind: 'watchdog', cause: 'x' }), null, state);
});

test('runner: a signal reaches the running main process through the table, and is refused once nothing runs', async (t) => {
  const child = spawn('sleep', ['30']);
  t.teardown(() => child.kill('SIGKILL'));
  const died = once(child, 'exit');
  const host = new FakeHost(child.pid);
  const r = new ServiceRunner(service(), host, host, 3000);
  t.false(r.signal('SIGHUP'), 'not started');
  r.start();
  const events = host.events.length;
  t.true(r.signal('SIGTERM'));
  t.deepEqual(await died, [null, 'SIGTERM'], 'the main process got it');
  t.is(host.events.length, events, 'no transition');
  host.exits[0](exit(null, 'SIGTERM'));
  await r.idle();
  t.false(r.signal('SIGHUP'));
});
