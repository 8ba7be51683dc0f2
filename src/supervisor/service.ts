// One service's runner: it feeds every input to the lifecycle table
// (lifecycle.ts), performs the actions the table returns, and reports each
// transition as one event. Its processes come from the launcher; what
// happened goes to the observer. The log, the state dir and the control
// channel only observe those events.
import type { Service } from '../manifest/index.js';
import type { ExitInfo, StatusRecord } from '../control/state-dir.js';
import type { ExecLogger } from '../launch/exec-logger.js';
import { RunSignal } from '../launch/run-signal.js';
import type { Exit, Running } from '../launch/spawn.js';
import { signalGroup, signalPid } from '../unix/signals.js';
import { step, type Action, type Condemned, type Input, type Policy, type State, type Timer, type Want } from './lifecycle.js';

/** One transition of one service: what the log line, the record and the control channel are made from. */
export interface TransitionEvent {
  service: string;
  from: State;
  to: State;
  /** the process concerned: the one started, signalled or exited */
  pid: number | null;
  /** set when the input was an exit */
  exit: Exit | null;
  /** set when a restart was scheduled */
  delayMs?: number;
  /** set when a signal was sent */
  signal?: NodeJS.Signals;
  /** why the init stopped it as a failure (not ready in time, failing its liveness check) */
  cause?: string;
  /** set when the failure is final because maxRestarts is spent */
  limit?: { maxRestarts: number; windowMs: number };
  /** set when an exit is the same as the one before it (code, signal, reason, cause): a crash loop says so */
  repeat?: boolean;
  restarts: number;
  at: Date;
}

/** Where a runner's processes come from (the launcher). */
export interface Processes {
  /** starts one process for the service, with its readiness check; never throws (a failure to start is an exit with a reason). `run.signal` aborts when it exits. */
  spawn(svc: Service, run: RunSignal): Running;
  /** makes ahead what the service's next spawn needs (a job's run, at the scheduler's early wake) */
  prepare?(svc: Service): void;
  /** starts the service's liveness checks, once it is up; they stop when `signal` aborts */
  watchLiveness(svc: Service, signal: AbortSignal, onUnhealthy: (why: string) => void): void;
  logger(svc: Service): ExecLogger | undefined;
  /** what a record says of the service's limits (absent: it has none) */
  limitFields(svc: Service): Partial<StatusRecord>;
  /** what a record says of what the service said of itself (sd_notify's STATUS=; absent: it does not use it) */
  reported(svc: Service): Partial<StatusRecord>;
}

/** Who hears what happened to a runner's service (the supervisor). */
export interface Observer {
  observe(event: TransitionEvent, runner: ServiceRunner): void;
  failed(runner: ServiceRunner, exitCode: number): void;
}

/** The restart policy the manifest's fields amount to; `graceMs`: the init's, for a service with no stopTimeout. */
export function policyOf(svc: Service, graceMs: number): Policy {
  return {
    type: svc.type,
    restart: svc.restart,
    successExitCodes: svc.successExitCodes,
    readiness: svc.readiness !== undefined,
    ...(svc.maxRestarts === undefined ? {} : { maxRestarts: svc.maxRestarts }),
    stopSignal: svc.stopSignal,
    stopTimeoutMs: svc.stopTimeoutMs ?? graceMs,
    ...(svc.readiness === undefined || svc.startTimeoutMs === undefined ? {} : { startTimeoutMs: svc.startTimeoutMs }),
    liveness: svc.liveness !== undefined,
    ...(svc.job?.timeoutMs === undefined ? {} : { runTimeoutMs: svc.job.timeoutMs }),
  };
}

export class ServiceRunner {
  state: State = 'down';
  want: Want = 'up';
  pid: number | null = null;
  since = new Date();
  restarts = 0;
  lastExit: ExitInfo | null = null;
  private readonly policy: Policy;
  private running?: Running;
  private readonly timers: Partial<Record<Timer, NodeJS.Timeout>> = {};
  /** when each armed timer fires (Date.now()), so a timeout that is extended is never shortened */
  private readonly due: Partial<Record<Timer, number>> = {};
  private startedAt = 0;
  private streak = 0;
  private restartTimes: number[] = [];
  /** aborted when the current process exits: ends its readiness and liveness checks */
  private run?: RunSignal;
  /** why the init is ending the current process as a failure (the table sets and clears it) */
  private condemned?: Condemned;
  /** the last exit as judged, to tell a repeat */
  private lastJudged?: Exit;
  private readonly waiters = new Set<() => void>();
  /** what a record adds for this kind of service (a job's schedule and runs); the jobs room sets it */
  recordExtras?: () => Partial<StatusRecord>;

  constructor(
    readonly svc: Service,
    private readonly processes: Processes,
    private readonly observer: Observer,
    graceMs: number,
  ) {
    this.policy = policyOf(svc, graceMs);
  }

  get name(): string {
    return this.svc.name;
  }

  /** its last exit as the table judged it (why the init ended it, an OOM kill), for the words an operator reads */
  get judgedExit(): Exit | undefined {
    return this.lastJudged;
  }

  /** Running, or waiting to run again (a restart, or a job's next run). */
  get active(): boolean {
    return this.running !== undefined || this.timers.restart !== undefined || this.state === 'waiting';
  }

  /** A job from now on waits for its schedule's runs. */
  schedule(): boolean {
    return this.send({ kind: 'schedule' });
  }

  /** Past a limit the watcher keeps: ended as a failure (its stop signal, SIGKILL after its stop timeout); its restart policy applies. */
  overLimit(cause: string, oom?: Exit['oom']): boolean {
    return this.send({ kind: 'over-limit', cause, ...(oom ? { oom } : {}) });
  }

  /** A job's run makes way for the next one: ended as a failure (its stop signal, SIGKILL after its stop timeout). */
  replace(): boolean {
    return this.send({ kind: 'replace' });
  }

  /** Its next process is made ahead of a start due soon (a job's run); no state changes. */
  prepare(): void {
    this.processes.prepare?.(this.svc);
  }

  /** Wants it up: starts it unless it runs. False when its state takes no start (running, stopping). */
  start(): boolean {
    return this.send({ kind: 'start' });
  }

  /** Wants it down: its stop signal to its process group (SIGKILL after its stop timeout), or a pending restart cancelled. */
  stop(): boolean {
    return this.send({ kind: 'stop', signal: this.svc.stopSignal });
  }

  /** The shutdown wants it down once its dependents are gone: no restart from now on, no signal yet. */
  hold(): boolean {
    return this.send({ kind: 'hold' });
  }

  /** Its stop grace is over: SIGKILL to the process group. */
  kill(): boolean {
    return this.send({ kind: 'kill' });
  }

  /** Sends a signal to the main process only (SIGHUP and friends); no state changes. False when nothing runs. */
  signal(signal: NodeJS.Signals): boolean {
    return this.send({ kind: 'signal', signal });
  }

  /** Resolves once `done` holds, checked after every input. */
  until(done: (r: ServiceRunner) => boolean): Promise<void> {
    if (done(this)) return Promise.resolve();
    return new Promise((resolve) => {
      const check = (): void => {
        if (!done(this)) return;
        this.waiters.delete(check);
        resolve();
      };
      this.waiters.add(check);
    });
  }

  /** Resolves once nothing runs and no restart is pending. */
  idle(): Promise<void> {
    return this.until((r) => !r.active);
  }

  record(): StatusRecord {
    return {
      name: this.name,
      type: this.svc.type,
      state: this.state,
      want: this.want,
      pid: this.pid,
      since: this.since.toISOString(),
      restarts: this.restarts,
      lastExit: this.lastExit,
      ready: this.policy.readiness ? this.state === 'up' : null,
      ...this.processes.limitFields(this.svc),
      ...this.processes.reported(this.svc),
      ...this.recordExtras?.(),
    };
  }

  /** The one path by which anything happens to the service; false when the input changes nothing, or an action it asked for failed. */
  private send(input: Input): boolean {
    const from = this.state;
    const now = Date.now();
    if (this.restartTimes.length) this.restartTimes = this.restartTimes.filter((t) => now - t < this.svc.restartWindowMs);
    const next = step({ state: from, want: this.want, policy: this.policy, streak: this.streak, recentRestarts: this.restartTimes.length, condemned: this.condemned }, input);
    if (!next) return false;
    if (input.kind === 'spawned') this.pid = input.pid;
    const pid = this.pid;
    if (input.kind === 'exited') {
      this.pid = null;
      // the watcher's OOM kill is known from why the init ended it (the table's exit), the kernel's from the exit itself
      const judged = next.exit ?? input.exit;
      const reason = judged.oom ? ('oom' as const) : judged.watchdog ? ('watchdog' as const) : undefined;
      this.lastExit = { code: input.exit.code, signal: input.exit.signal, at: new Date().toISOString(), ...(reason ? { reason } : {}) };
      if (next.to === 'backoff') {
        this.restarts++;
        this.restartTimes.push(now);
      }
    }
    this.want = next.want;
    if (next.streak !== undefined) this.streak = next.streak;
    if (next.condemned !== undefined) this.condemned = next.condemned ?? undefined;
    this.state = next.to;
    if (next.to !== from) this.since = new Date();
    // every exit is said, a failed start in backoff included (backoff to backoff: no new state, but a new try)
    if (next.to !== from || next.signal || input.kind === 'exited') {
      const exit = next.exit ?? null;
      const cause = next.condemned?.cause;
      const limit = next.gaveUp ? { maxRestarts: this.svc.maxRestarts!, windowMs: this.svc.restartWindowMs } : undefined;
      const repeat = exit !== null && this.lastJudged !== undefined && sameExit(exit, this.lastJudged);
      if (exit) this.lastJudged = exit;
      this.observer.observe({ service: this.name, from, to: next.to, pid, exit, delayMs: next.delayMs, signal: next.signal, cause, limit, repeat, restarts: this.restarts, at: this.since }, this);
    }
    if (next.to === 'finished' || next.to === 'failed' || next.to === 'stopped') this.processes.logger(this.svc)?.close();
    let done = true;
    for (const action of next.actions) done = this.perform(action) && done;
    for (const check of [...this.waiters]) check();
    return done;
  }

  private perform(action: Action): boolean {
    switch (action.do) {
      case 'spawn':
        this.spawn();
        return true;
      case 'signal':
        if (this.pid !== null) signalGroup(this.pid, action.signal);
        return true;
      case 'signal-main':
        return this.pid !== null && signalPid(this.pid, action.signal);
      case 'arm-timer': {
        const timer = action.timer;
        clearTimeout(this.timers[timer]);
        this.due[timer] = Date.now() + action.delayMs;
        this.timers[timer] = setTimeout(() => {
          this.timers[timer] = undefined;
          this.send(TIMER_INPUTS[timer]);
        }, action.delayMs);
        return true;
      }
      case 'cancel-timer':
        clearTimeout(this.timers[action.timer]);
        this.timers[action.timer] = undefined;
        return true;
      case 'watch-liveness': {
        const run = this.run;
        if (run) this.processes.watchLiveness(this.svc, run.signal, (cause) => this.run === run && this.send({ kind: 'unhealthy', cause }));
        return true;
      }
      case 'report-failure':
        this.observer.failed(this, action.code);
        return true;
    }
  }

  private spawn(): void {
    const run = new RunSignal();
    const running = this.processes.spawn(this.svc, run);
    this.run = run;
    this.running = running;
    this.startedAt = Date.now();
    if (running.pid !== undefined) this.send({ kind: 'spawned', pid: running.pid });
    running.onExtend?.((ms) => {
      const due = this.timers.start === undefined ? undefined : this.due.start;
      if (this.running === running && due !== undefined) this.send({ kind: 'extend-timeout', ms, remainingMs: due - Date.now() });
    });
    running.onWatchdog?.((cause) => this.running === running && this.send({ kind: 'watchdog', cause }));
    void running.ready?.then(() => {
      if (this.running === running) this.send({ kind: 'ready' });
    });
    void running.exited.then((exit) => {
      run.abort();
      this.running = undefined;
      this.send({ kind: 'exited', exit, uptimeMs: Date.now() - this.startedAt });
    });
  }
}

function sameExit(a: Exit, b: Exit): boolean {
  return a.code === b.code && a.signal === b.signal && a.reason === b.reason && a.cause === b.cause;
}

/** What each timer's firing is, as an input. */
const TIMER_INPUTS: Record<Timer, Input> = { restart: { kind: 'timer' }, kill: { kind: 'kill' }, start: { kind: 'start-timeout' }, run: { kind: 'run-timeout' } };
