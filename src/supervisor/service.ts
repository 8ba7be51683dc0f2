// One service's runner: it feeds every input to the lifecycle table
// (lifecycle.ts), performs the actions the table returns, and reports each
// transition as one event. The log, the state dir and the control channel
// only observe those events.
import type { Service } from '../manifest/index.js';
import type { ExitInfo, StatusRecord } from '../control/state-dir.js';
import { step, type Action, type Input, type Policy, type State, type Want } from './lifecycle.js';
import type { ExecLogger } from '../launch/exec-logger.js';
import type { Exit, Running } from '../launch/spawn.js';

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
  restarts: number;
  at: Date;
}

/**
 * Aborts when a process exits, for its readiness and liveness checks. The
 * AbortController is made only when a check asks for its signal: ~14 us of
 * each spawn otherwise, 14 ms of a burst of 1,000 services.
 */
export class RunSignal {
  private controller?: AbortController;
  private aborted = false;

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(); // asked for after the exit: aborted already, as it would have been
    }
    return this.controller.signal;
  }

  abort(): void {
    this.aborted = true;
    this.controller?.abort();
  }
}

export interface ServiceHost {
  /** starts one process for the service, with its readiness check; never throws (a failure to start is an exit with a reason). `run.signal` aborts when it exits. */
  spawn(svc: Service, run: RunSignal): Running;
  /** starts the service's liveness checks, once it is up; they stop when `signal` aborts */
  watchLiveness(svc: Service, signal: AbortSignal, onUnhealthy: (why: string) => void): void;
  logger(svc: Service): ExecLogger | undefined;
  observe(event: TransitionEvent, runner: ServiceRunner): void;
  failed(runner: ServiceRunner, exitCode: number): void;
  /** the init's grace: how long a service gets after its stop signal when it sets no stopTimeout */
  readonly graceMs: number;
}

/** The restart policy the manifest's fields amount to. */
export function policyOf(svc: Service): Policy {
  return {
    type: svc.type,
    restart: svc.restart,
    successExitCodes: svc.successExitCodes,
    readiness: svc.readiness !== undefined,
    ...(svc.maxRestarts === undefined ? {} : { maxRestarts: svc.maxRestarts }),
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
  private restartTimer?: NodeJS.Timeout;
  private startedAt = 0;
  private streak = 0;
  private restartTimes: number[] = [];
  /** aborted when the current process exits: ends its readiness and liveness checks */
  private run?: RunSignal;
  private killTimer?: NodeJS.Timeout;
  private startTimer?: NodeJS.Timeout;
  /** why the init is ending the current process as a failure */
  private condemned?: { cause: string; restartAnyway: boolean };
  private readonly waiters = new Set<() => void>();

  constructor(
    readonly svc: Service,
    private readonly host: ServiceHost,
  ) {
    this.policy = policyOf(svc);
  }

  get name(): string {
    return this.svc.name;
  }

  /** Running, or waiting to run again. */
  get active(): boolean {
    return this.running !== undefined || this.restartTimer !== undefined;
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
    return this.pid !== null && signalPid(this.pid, signal);
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
    };
  }

  /** The one path by which anything happens to the service. */
  private send(input: Input): boolean {
    const from = this.state;
    const now = Date.now();
    if (this.restartTimes.length) this.restartTimes = this.restartTimes.filter((t) => now - t < this.svc.restartWindowMs);
    const next = step({ state: from, want: this.want, policy: this.policy, streak: this.streak, recentRestarts: this.restartTimes.length }, input);
    if (!next) return false;
    if (input.kind === 'spawned') this.pid = input.pid;
    const pid = this.pid;
    if (input.kind === 'exited') {
      this.pid = null;
      this.lastExit = { code: input.exit.code, signal: input.exit.signal, at: new Date().toISOString() };
      if (next.to === 'backoff') {
        this.restarts++;
        this.restartTimes.push(now);
      }
    }
    this.want = next.want;
    if (next.streak !== undefined) this.streak = next.streak;
    this.state = next.to;
    if (next.to !== from) this.since = new Date();
    if (next.to !== from || next.signal) {
      const exit = input.kind === 'exited' ? input.exit : null;
      const cause = input.kind === 'unhealthy' ? this.condemned?.cause : undefined;
      const limit = next.gaveUp ? { maxRestarts: this.svc.maxRestarts!, windowMs: this.svc.restartWindowMs } : undefined;
      this.host.observe({ service: this.name, from, to: next.to, pid, exit, delayMs: next.delayMs, signal: next.signal, cause, limit, restarts: this.restarts, at: this.since }, this);
    }
    if (next.to === 'up' && from !== 'up') this.onReady();
    if (next.to === 'finished' || next.to === 'failed' || next.to === 'stopped') this.host.logger(this.svc)?.close();
    for (const action of next.actions) this.perform(action);
    for (const check of [...this.waiters]) check();
    return true;
  }

  private perform(action: Action): void {
    switch (action.do) {
      case 'spawn':
        return this.spawn();
      case 'signal':
        if (this.pid === null) return;
        signalGroup(this.pid, action.signal);
        if (action.signal !== 'SIGKILL' && !this.killTimer) this.killTimer = setTimeout(() => this.send({ kind: 'kill' }), this.svc.stopTimeoutMs ?? this.host.graceMs);
        return;
      case 'arm-timer':
        this.restartTimer = setTimeout(() => {
          this.restartTimer = undefined;
          this.send({ kind: 'timer' });
        }, action.delayMs);
        return;
      case 'cancel-timer':
        clearTimeout(this.restartTimer);
        this.restartTimer = undefined;
        return;
      case 'report-failure':
        return this.host.failed(this, action.code);
    }
  }

  private spawn(): void {
    const run = new RunSignal();
    const running = this.host.spawn(this.svc, run);
    this.run = run;
    this.running = running;
    this.startedAt = Date.now();
    if (running.pid !== undefined) {
      this.armStartTimeout();
      this.send({ kind: 'spawned', pid: running.pid });
    }
    void running.ready?.then(() => {
      if (this.running === running) this.send({ kind: 'ready' });
    });
    void running.exited.then((exit) => {
      run.abort();
      clearTimeout(this.killTimer);
      clearTimeout(this.startTimer);
      this.killTimer = this.startTimer = undefined;
      const condemned = this.condemned;
      this.condemned = undefined;
      this.running = undefined;
      this.send({ kind: 'exited', exit: condemned ? { ...exit, ...condemned } : exit, uptimeMs: Date.now() - this.startedAt });
    });
  }

  /** A service with readiness and a startTimeout that is not ready in time has failed. */
  private armStartTimeout(): void {
    const ms = this.svc.startTimeoutMs;
    if (ms === undefined) return;
    this.startTimer = setTimeout(() => {
      this.startTimer = undefined;
      if (this.state === 'starting') this.condemn(`not ready within ${ms} ms`, false);
    }, ms);
  }

  /** Ready: the start timeout is over, and the liveness checks begin. */
  private onReady(): void {
    clearTimeout(this.startTimer);
    this.startTimer = undefined;
    if (!this.svc.liveness || !this.run) return;
    this.host.watchLiveness(this.svc, this.run.signal, (why) => this.condemn(why, true));
  }

  /** The init ends the current process as a failure; its exit then goes through the restart policy. */
  private condemn(cause: string, restartAnyway: boolean): void {
    this.condemned = { cause, restartAnyway };
    if (!this.send({ kind: 'unhealthy', signal: this.svc.stopSignal })) this.condemned = undefined;
  }
}

/** Signals a process group (a service's session); a process not leading one yet gets it alone. */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    signalPid(pid, signal); // not a group leader (yet): at least the process itself
  }
}

function signalPid(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false; // already gone
  }
}
