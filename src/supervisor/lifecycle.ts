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
} as const;

export type State = keyof typeof STATES;
export type Want = 'up' | 'down';

/** What can happen to a service. */
export type Input =
  | { kind: 'start' } // its stage or an operator wants it up
  | { kind: 'spawned'; pid: number }
  | { kind: 'ready' }
  | { kind: 'exited'; exit: Exit; uptimeMs: number }
  | { kind: 'stop'; signal: NodeJS.Signals } // an operator or the shutdown wants it down
  | { kind: 'hold' } // the shutdown wants it down, but its dependents go first: no restart, no signal yet
  | { kind: 'kill' } // its stop grace is over
  | { kind: 'timer' } // its backoff delay is over
  | { kind: 'unhealthy'; signal: NodeJS.Signals }; // not ready in time, or failing its liveness check: stop it, as a failure

export type Action =
  | { do: 'spawn' }
  | { do: 'signal'; signal: NodeJS.Signals }
  | { do: 'arm-timer'; delayMs: number }
  | { do: 'cancel-timer' }
  | { do: 'report-failure'; code: number };

/** What decides an exit: the service's type and restart policy. */
export interface Policy {
  type: 'long-run' | 'oneshot-pre' | 'oneshot-post';
  restart: 'no' | 'on-failure' | 'always';
  successExitCodes: readonly number[];
  /** true when the service reports readiness: it is `starting` until it does */
  readiness: boolean;
  /** restarts allowed within the restart window; undefined: no limit */
  maxRestarts?: number;
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

const spawned = (ctx: Context): Step => ({ to: ctx.policy.readiness ? 'starting' : 'up', want: ctx.want, actions: [] });

const exited = (ctx: Context, input: { exit: Exit; uptimeMs: number }): Step => {
  if (ctx.want === 'down') return { to: 'stopped', want: 'down', actions: [] };
  const outcome = decideExit(input.exit, ctx.policy, ctx.recentRestarts);
  if (outcome === 'finished') return { to: 'finished', want: ctx.want, actions: [], streak: 0 };
  if (outcome !== 'restart') return { to: 'failed', want: ctx.want, actions: [{ do: 'report-failure', code: exitCodeOf(input.exit) }], gaveUp: outcome === 'gave-up' };
  const { delayMs, streak } = restartDelay(ctx.streak, input.uptimeMs);
  return { to: 'backoff', want: 'up', actions: [delayMs === 0 ? { do: 'spawn' } : { do: 'arm-timer', delayMs }], streak, delayMs };
};

const stopRunning = (_ctx: Context, input: { signal: NodeJS.Signals }): Step => ({
  to: 'stopping',
  want: 'down',
  actions: [{ do: 'signal', signal: input.signal }],
  signal: input.signal,
});

/** Stopped by the init as a failure: still wanted up, so its exit goes through the restart policy. */
const condemn = (ctx: Context, input: { signal: NodeJS.Signals }): Step => ({
  to: 'stopping',
  want: ctx.want,
  actions: [{ do: 'signal', signal: input.signal }],
  signal: input.signal,
});

/** A stop while the init ends a service as a failure: the exit is now a stop, not a failure. */
const stopCondemned = (ctx: Context): Step | null => (ctx.want === 'down' ? null : { to: 'stopping', want: 'down', actions: [] });

/** Nothing runs: the wish is noted, the state stays. */
const wantDown = (ctx: Context): Step => ({ to: ctx.state, want: 'down', actions: [] });

/** Held for the shutdown: what runs keeps running until its turn; what does not run stays down. */
const hold = (ctx: Context): Step => ({ to: ctx.state, want: 'down', actions: [] });

/**
 * State by input. A missing cell means the input changes nothing in that
 * state (a start of a running service, a stop of a stopping one).
 */
const TABLE: Record<State, Partial<Record<Input['kind'], Rule>>> = {
  down: { start: spawn, spawned, exited, stop: () => ({ to: 'stopped', want: 'down', actions: [] }), hold: () => ({ to: 'stopped', want: 'down', actions: [] }) },
  starting: { ready: (ctx) => ({ to: 'up', want: ctx.want, actions: [] }), exited, stop: stopRunning, unhealthy: condemn, hold },
  up: { exited, stop: stopRunning, unhealthy: condemn, hold },
  backoff: {
    start: () => ({ to: 'backoff', want: 'up', actions: [{ do: 'cancel-timer' }, { do: 'spawn' }] }),
    timer: spawn,
    spawned,
    exited,
    stop: () => ({ to: 'stopped', want: 'down', actions: [{ do: 'cancel-timer' }] }),
    hold: () => ({ to: 'stopped', want: 'down', actions: [{ do: 'cancel-timer' }] }),
  },
  stopping: {
    exited,
    kill: (ctx) => ({ to: 'stopping', want: ctx.want, actions: [{ do: 'signal', signal: 'SIGKILL' }], signal: 'SIGKILL' }),
    stop: stopCondemned,
    hold: stopCondemned,
  },
  stopped: { start: spawn, spawned, exited, stop: wantDown, hold: wantDown },
  finished: { start: spawn, spawned, exited, stop: wantDown, hold: wantDown },
  failed: { start: spawn, spawned, exited, stop: wantDown, hold: wantDown },
};

/** The one place that decides what an input does: the next state, the operator's wish, and the actions to perform. */
export function step(ctx: Context, input: Input): Step | null {
  const rule = TABLE[ctx.state][input.kind] as ((ctx: Context, input: Input) => Step | null) | undefined;
  return rule ? rule(ctx, input) : null;
}
