// One service's runner: it feeds every input to the lifecycle table
// (lifecycle.ts), performs the actions the table returns, and reports each
// transition as one event. The log, the state dir and the control channel
// only observe those events.
import type { Service } from '../manifest/index.js';
import type { ExitInfo, StatusRecord } from '../control/state-dir.js';
import { step, type Action, type Input, type Policy, type State, type Want } from './lifecycle.js';
import type { ExecLogger } from './logger.js';
import type { Exit, Running } from './spawn.js';

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
  restarts: number;
  at: Date;
}

export interface ServiceHost {
  /** starts one process for the service; never throws (a failure to start is an exit with a reason) */
  spawn(svc: Service): Running;
  logger(svc: Service): ExecLogger | undefined;
  observe(event: TransitionEvent, runner: ServiceRunner): void;
  failed(runner: ServiceRunner, exitCode: number): void;
}

/** The restart policy the manifest's fields amount to. */
export function policyOf(svc: Service): Policy {
  return { type: svc.type, restart: svc.restartOnFailure ? 'on-failure' : 'no', successExitCodes: [0], readiness: false };
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

  /** Wants it down: `signal` to its process group, or a pending restart cancelled. */
  stop(signal: NodeJS.Signals = 'SIGTERM'): boolean {
    return this.send({ kind: 'stop', signal });
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
    const next = step({ state: from, want: this.want, policy: this.policy, streak: this.streak }, input);
    if (!next) return false;
    if (input.kind === 'spawned') this.pid = input.pid;
    const pid = this.pid;
    if (input.kind === 'exited') {
      this.pid = null;
      this.lastExit = { code: input.exit.code, signal: input.exit.signal, at: new Date().toISOString() };
      if (next.to === 'backoff') this.restarts++;
    }
    this.want = next.want;
    if (next.streak !== undefined) this.streak = next.streak;
    this.state = next.to;
    if (next.to !== from) this.since = new Date();
    if (next.to !== from || next.signal) {
      const exit = input.kind === 'exited' ? input.exit : null;
      this.host.observe({ service: this.name, from, to: next.to, pid, exit, delayMs: next.delayMs, signal: next.signal, restarts: this.restarts, at: this.since }, this);
    }
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
        if (this.pid !== null) signalGroup(this.pid, action.signal);
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
    const running = this.host.spawn(this.svc);
    this.running = running;
    this.startedAt = Date.now();
    if (running.pid !== undefined) this.send({ kind: 'spawned', pid: running.pid });
    void running.exited.then((exit) => {
      this.running = undefined;
      this.send({ kind: 'exited', exit, uptimeMs: Date.now() - this.startedAt });
    });
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
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
