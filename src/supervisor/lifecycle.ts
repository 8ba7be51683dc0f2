// A service's lifecycle, the way s6-supervise keeps it: named states, what
// the operator wants (up or down) apart from what the process does, and one
// table of what each input does in each state. Everything here is pure: the
// runner (service.ts) performs the actions a step returns and reports the
// transition; nothing else changes a state.
import { restartDelay } from './backoff.js';
import type { Exit } from '../launch/spawn.js';
import { exitCodeOf } from '../unix/signals.js';

/** The states of a service record, with what they mean to an operator (docs/state-dir.md lists the same). */
export const STATES = {
  down: 'not started yet',
  starting: 'running, not ready yet',
  up: 'running (and ready, where readiness is defined)',
  backoff: 'failed, waiting to be restarted',
  stopping: 'sent its stop signal, waiting for it to exit',
  stopped: 'stopped on request (an operator, or the init shutting down); not restarted',
  finished: 'exited successfully and is not restarted',
  failed: 'exited with a failure and will not be restarted',
  waiting: 'a scheduled job between runs: its next run is due at `nextRun`',
  running: "a scheduled job's run in progress",
} as const;

export type State = keyof typeof STATES;
export type Want = 'up' | 'down';

/** The runner's timers: each one's firing is an input of the table. */
export type Timer = 'restart' | 'kill' | 'start' | 'run';

/** Why the init is ending the current process as a failure. */
export interface Condemned {
  cause: string;
  /** a liveness failure: restart it whatever its restart policy says */
  restartAnyway: boolean;
  /** the watcher ended it at its memory limit: its exit is an OOM kill */
  oom?: Exit['oom'];
  /** its watchdog ran out */
  watchdog?: boolean;
}

/** What can happen to a service. */
export type Input =
  | { kind: 'start' } // its stage or an operator wants it up
  | { kind: 'spawned'; pid: number }
  | { kind: 'ready' }
  | { kind: 'exited'; exit: Exit; uptimeMs: number }
  | { kind: 'stop'; signal: NodeJS.Signals } // an operator or the shutdown wants it down
  | { kind: 'hold' } // the shutdown wants it down, but its dependents go first: no restart, no signal yet
  | { kind: 'kill' } // its stop grace is over (the kill timer, or a second SIGTERM to the init)
  | { kind: 'timer' } // its backoff delay is over
  | { kind: 'start-timeout' } // not ready within startTimeout
  | { kind: 'extend-timeout'; ms: number; remainingMs: number } // it asks for `ms` more to get ready (sd_notify's EXTEND_TIMEOUT_USEC); its start timer has `remainingMs` left
  | { kind: 'watchdog'; cause: string } // its sd_notify watchdog ran out (it runs from READY=1, which the runner may not have heard yet): ended as a failure with SIGABRT, as systemd does (its restart policy applies)
  | { kind: 'unhealthy'; cause: string } // failing its liveness check: stop it, as a failure, and restart it
  | { kind: 'over-limit'; cause: string; oom?: Exit['oom'] } // past a limit the watcher keeps: stop it, as a failure (its restart policy applies)
  | { kind: 'signal'; signal: NodeJS.Signals } // for its main process alone (berth signal, a signal the init forwards)
  | { kind: 'schedule' } // a job's schedule is armed: it waits for its first run
  | { kind: 'run-timeout' } // a job's run is past its timeout
  | { kind: 'replace' }; // a job's next run is due and replaces this one (concurrency: replace)

export type Action =
  | { do: 'spawn' }
  | { do: 'signal'; signal: NodeJS.Signals } // to its process group
  | { do: 'signal-main'; signal: NodeJS.Signals } // to its main process only
  | { do: 'arm-timer'; timer: Timer; delayMs: number }
  | { do: 'cancel-timer'; timer: Timer }
  | { do: 'watch-liveness' }
  | { do: 'report-failure'; code: number };

/** What decides an exit, and what the table needs to know of the service. */
export interface Policy {
  type: 'long-run' | 'oneshot-pre' | 'oneshot-post' | 'scheduled';
  restart: 'no' | 'on-failure' | 'always';
  successExitCodes: readonly number[];
  /** true when the service reports readiness: it is `starting` until it does */
  readiness: boolean;
  /** restarts allowed within the restart window; undefined: no limit */
  maxRestarts?: number;
  /** its stop signal (default SIGTERM) */
  stopSignal: NodeJS.Signals;
  /** how long after its stop signal it gets SIGKILL (its stopTimeout, else the init's grace) */
  stopTimeoutMs: number;
  /** how long it may take to be ready, where it has a readiness check */
  startTimeoutMs?: number;
  /** true when it has a liveness check, watched once it is up */
  liveness: boolean;
  /** a job's run still going this long after it started is ended as a failure */
  runTimeoutMs?: number;
}

/** What the table reads besides the input. */
export interface Context {
  state: State;
  want: Want;
  policy: Policy;
  /** quick failures in a row so far (backoff.ts) */
  streak: number;
  /** restarts within the restart window so far */
  recentRestarts: number;
  /** set while the init ends the current process as a failure */
  condemned?: Condemned;
}

export interface Step {
  to: State;
  want: Want;
  actions: Action[];
  streak?: number;
  /** the restart delay, when the step schedules one */
  delayMs?: number;
  /** a signal the step sends, for the event */
  signal?: NodeJS.Signals;
  /** the failure is final because `maxRestarts` is spent */
  gaveUp?: boolean;
  /** the init now ends the process as a failure (set), or that is over (null) */
  condemned?: Condemned | null;
  /** an exit as judged: with why the init ended it, when it did */
  exit?: Exit;
}

/** What an exit means for a service that is wanted up; `gave-up`: it would restart, but `maxRestarts` is spent. */
export type ExitOutcome = 'finished' | 'failed' | 'restart' | 'gave-up';

export function decideExit(exit: Exit, policy: Policy, recentRestarts = 0): ExitOutcome {
  const success = exit.reason === undefined && exit.cause === undefined && exit.code !== null && policy.successExitCodes.includes(exit.code);
  const restarts = policy.type === 'long-run' && (exit.restartAnyway === true || policy.restart === 'always' || (policy.restart === 'on-failure' && !success));
  if (restarts && (policy.maxRestarts === undefined || recentRestarts < policy.maxRestarts)) return 'restart';
  if (success) return 'finished';
  return restarts ? 'gave-up' : 'failed';
}

type Rule = (ctx: Context, input: never) => Step | null;

const spawn = (ctx: Context): Step => ({ to: ctx.state, want: 'up', actions: [{ do: 'spawn' }] });

/** Up at once without a readiness check (then watched for liveness); else starting, against its start timeout. A job's run is running, against its timeout. */
const spawned = (ctx: Context): Step => {
  if (ctx.policy.type === 'scheduled') {
    const ms = ctx.policy.runTimeoutMs;
    return { to: 'running', want: ctx.want, actions: ms === undefined ? [] : [{ do: 'arm-timer', timer: 'run', delayMs: ms }] };
  }
  if (!ctx.policy.readiness) return { to: 'up', want: ctx.want, actions: ctx.policy.liveness ? [{ do: 'watch-liveness' }] : [] };
  const ms = ctx.policy.startTimeoutMs;
  return { to: 'starting', want: ctx.want, actions: ms === undefined ? [] : [{ do: 'arm-timer', timer: 'start', delayMs: ms }] };
};

const ready = (ctx: Context): Step => ({
  to: 'up',
  want: ctx.want,
  actions: [...(ctx.policy.startTimeoutMs === undefined ? [] : [{ do: 'cancel-timer', timer: 'start' } as const]), ...(ctx.policy.liveness ? [{ do: 'watch-liveness' } as const] : [])],
});

/** The process is gone: its timers end with it, and a process the init was ending as a failure exits as one. */
const exited = (ctx: Context, input: { exit: Exit; uptimeMs: number }): Step => {
  const exit = ctx.condemned ? { ...input.exit, ...ctx.condemned } : input.exit;
  const gone: Action[] = [{ do: 'cancel-timer', timer: 'kill' }, { do: 'cancel-timer', timer: 'start' }];
  if (ctx.policy.type === 'scheduled') gone.push({ do: 'cancel-timer', timer: 'run' });
  const base = ctx.condemned ? { exit, condemned: null } : { exit };
  if (ctx.want === 'down') return { ...base, to: 'stopped', want: 'down', actions: gone };
  const outcome = decideExit(exit, ctx.policy, ctx.recentRestarts);
  // a job's run is over either way: it waits for the next, its failure reported
  if (ctx.policy.type === 'scheduled') return { ...base, to: 'waiting', want: ctx.want, actions: outcome === 'finished' ? gone : [...gone, { do: 'report-failure', code: exitCodeOf(exit) }] };
  if (outcome === 'finished') return { ...base, to: 'finished', want: ctx.want, actions: gone, streak: 0 };
  if (outcome !== 'restart') return { ...base, to: 'failed', want: ctx.want, actions: [...gone, { do: 'report-failure', code: exitCodeOf(exit) }], gaveUp: outcome === 'gave-up' };
  const { delayMs, streak } = restartDelay(ctx.streak, input.uptimeMs);
  return { ...base, to: 'backoff', want: 'up', actions: [...gone, delayMs === 0 ? { do: 'spawn' } : { do: 'arm-timer', timer: 'restart', delayMs }], streak, delayMs };
};

/** Its stop signal to the group, and SIGKILL once its stop timeout is over. */
const signalStop = (ctx: Context, signal: NodeJS.Signals): Action[] => [
  { do: 'signal', signal },
  { do: 'arm-timer', timer: 'kill', delayMs: ctx.policy.stopTimeoutMs },
];

const stopRunning = (ctx: Context, input: { signal: NodeJS.Signals }): Step => ({
  to: 'stopping',
  want: 'down',
  actions: signalStop(ctx, input.signal),
  signal: input.signal,
});

/** Stopped by the init as a failure (with its stop signal unless said otherwise): still wanted up, so its exit goes through the restart policy. */
const condemn = (ctx: Context, condemned: Condemned, signal = ctx.policy.stopSignal): Step => ({
  to: 'stopping',
  want: ctx.want,
  actions: [{ do: 'cancel-timer', timer: 'start' }, ...signalStop(ctx, signal)],
  signal,
  condemned,
});

const unhealthy = (ctx: Context, input: { cause: string }): Step => condemn(ctx, { cause: input.cause, restartAnyway: true });

/** SIGABRT, systemd's WatchdogSignal: a hung process leaves a core dump where they are on. */
const watchdog = (ctx: Context, input: { cause: string }): Step => condemn(ctx, { cause: input.cause, restartAnyway: false, watchdog: true }, 'SIGABRT');

const overLimit = (ctx: Context, input: { cause: string; oom?: Exit['oom'] }): Step =>
  condemn(ctx, { cause: input.cause, restartAnyway: false, ...(input.oom ? { oom: input.oom } : {}) });

/** More time to get ready, from now: the start timer is armed again, never for less than it had left. */
const extendTimeout = (ctx: Context, input: { ms: number; remainingMs: number }): Step | null =>
  ctx.policy.startTimeoutMs === undefined || input.ms <= input.remainingMs ? null : { to: 'starting', want: ctx.want, actions: [{ do: 'arm-timer', timer: 'start', delayMs: input.ms }] };

const startTimeout = (ctx: Context): Step => condemn(ctx, { cause: `not ready within ${ctx.policy.startTimeoutMs} ms`, restartAnyway: false });

const runTimeout = (ctx: Context): Step => condemn(ctx, { cause: `still running after its timeout (${ctx.policy.runTimeoutMs} ms)`, restartAnyway: false });

const replace = (ctx: Context): Step => condemn(ctx, { cause: 'replaced by its next run (concurrency: replace)', restartAnyway: false });

/** A job's schedule is armed: only a job, and only before anything ran it. */
const schedule = (ctx: Context): Step | null => (ctx.policy.type === 'scheduled' && ctx.want === 'up' ? { to: 'waiting', want: 'up', actions: [] } : null);

/** A stop while the init ends a service as a failure: the exit is now a stop, not a failure. */
const stopCondemned = (ctx: Context): Step | null => (ctx.want === 'down' ? null : { to: 'stopping', want: 'down', actions: [] });

/** Nothing runs: the wish is noted, the state stays. */
const wantDown = (ctx: Context): Step => ({ to: ctx.state, want: 'down', actions: [] });

/** Held for the shutdown: what runs keeps running until its turn; what does not run stays down. */
const hold = (ctx: Context): Step => ({ to: ctx.state, want: 'down', actions: [] });

/** A signal for the main process: the state stays. */
const signalMain = (ctx: Context, input: { signal: NodeJS.Signals }): Step => ({ to: ctx.state, want: ctx.want, actions: [{ do: 'signal-main', signal: input.signal }] });

const kill = (ctx: Context): Step => ({ to: 'stopping', want: ctx.want, actions: [{ do: 'signal', signal: 'SIGKILL' }], signal: 'SIGKILL' });

const stopWaiting = (): Step => ({ to: 'stopped', want: 'down', actions: [{ do: 'cancel-timer', timer: 'restart' }] });

/**
 * State by input. A missing cell means the input changes nothing in that
 * state (a start of a running service, a stop of a stopping one, a signal
 * for a service with no process).
 */
const TABLE: Record<State, Partial<Record<Input['kind'], Rule>>> = {
  down: { start: spawn, spawned, exited, stop: () => ({ to: 'stopped', want: 'down', actions: [] }), hold: () => ({ to: 'stopped', want: 'down', actions: [] }), schedule },
  starting: { ready, exited, stop: stopRunning, unhealthy, 'over-limit': overLimit, 'start-timeout': startTimeout, 'extend-timeout': extendTimeout, watchdog, hold, signal: signalMain },
  up: { exited, stop: stopRunning, unhealthy, watchdog, 'over-limit': overLimit, hold, signal: signalMain },
  backoff: {
    start: () => ({ to: 'backoff', want: 'up', actions: [{ do: 'cancel-timer', timer: 'restart' }, { do: 'spawn' }] }),
    timer: spawn,
    spawned,
    exited,
    stop: stopWaiting,
    hold: stopWaiting,
  },
  stopping: { exited, kill, stop: stopCondemned, hold: stopCondemned, signal: signalMain },
  stopped: { start: spawn, spawned, exited, stop: wantDown, hold: wantDown },
  finished: { start: spawn, spawned, exited, stop: wantDown, hold: wantDown },
  failed: { start: spawn, spawned, exited, stop: wantDown, hold: wantDown },
  waiting: { start: spawn, spawned, exited, stop: () => ({ to: 'stopped', want: 'down', actions: [] }), hold: () => ({ to: 'stopped', want: 'down', actions: [] }) },
  running: { exited, stop: stopRunning, hold, signal: signalMain, 'over-limit': overLimit, 'run-timeout': runTimeout, replace },
};

/** The one place that decides what an input does: the next state, the operator's wish, and the actions to perform. */
export function step(ctx: Context, input: Input): Step | null {
  const rule = TABLE[ctx.state][input.kind] as ((ctx: Context, input: Input) => Step | null) | undefined;
  return rule ? rule(ctx, input) : null;
}
