// One service's lifecycle as a state machine. Every change of state goes
// through `transition`, which the supervisor observes to write the log line
// and the state-dir record: one event, every observer.
import type { Service } from '../manifest/index.js';
import type { ExitInfo, StatusRecord } from '../control/state-dir.js';
import { Backoff } from './backoff.js';
import type { Launch } from './launch.js';
import type { ExecLogger } from './logger.js';
import { signalNumber } from './signals.js';
import { spawnProcess, spawnWithTerminal, type Exit, type Running } from './spawn.js';

export type State = 'down' | 'up' | 'backoff' | 'stopping' | 'finished' | 'failed';

export interface ServiceHost {
  launch(svc: Service): Launch;
  logger(svc: Service): ExecLogger | undefined;
  transition(runner: ServiceRunner, detail: string): void;
  failed(runner: ServiceRunner, exitCode: number): void;
  mayStart(): boolean;
}

/** The exit code a shell would report: the code, or 128+N for death by signal N. */
export function exitCodeOf(exit: Exit): number {
  return exit.code ?? 128 + signalNumber(exit.signal ?? 'SIGKILL');
}

function describe(exit: Exit): string {
  if (exit.reason) return `could not start: ${exit.reason} (code ${exit.code})`;
  return exit.signal ? `killed by ${exit.signal} (code ${exitCodeOf(exit)})` : `exited with code ${exit.code}`;
}

export class ServiceRunner {
  state: State = 'down';
  pid: number | null = null;
  since = new Date();
  restarts = 0;
  lastExit: ExitInfo | null = null;
  private running?: Running;
  private restartTimer?: NodeJS.Timeout;
  private startedAt = 0;
  private readonly backoff = new Backoff();
  private idleWaiters: Array<() => void> = [];

  constructor(
    readonly svc: Service,
    private readonly host: ServiceHost,
  ) {}

  get name(): string {
    return this.svc.name;
  }

  /** Running, or waiting to run again. */
  get active(): boolean {
    return this.running !== undefined || this.restartTimer !== undefined;
  }

  start(): void {
    if (!this.host.mayStart()) return;
    const logger = this.host.logger(this.svc);
    let launch: Launch;
    try {
      launch = this.host.launch(this.svc);
    } catch (err) {
      this.ended({ code: 126, signal: null, reason: (err as Error).message });
      return;
    }
    const running = this.svc.tty
      ? spawnWithTerminal(launch, logger?.output() ?? process.stdout)
      : spawnProcess(launch, logger?.input() ?? 1);
    this.running = running;
    this.startedAt = Date.now();
    if (running.pid !== undefined) {
      this.pid = running.pid;
      this.transition('up', `started (pid ${running.pid})`);
    }
    void running.exited.then((exit) => {
      this.running = undefined;
      this.pid = null;
      this.ended(exit);
    });
  }

  /** Signals the whole process group; a pending restart is cancelled. */
  stop(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.restartTimer) {
      clearTimeout(this.restartTimer);
      this.restartTimer = undefined;
      this.transition('finished', 'restart cancelled');
      return;
    }
    if (this.pid === null) return;
    if (this.state !== 'stopping') this.transition('stopping', `sending ${signal}`);
    else if (signal === 'SIGKILL') this.host.transition(this, `sending ${signal}`);
    signalGroup(this.pid, signal);
  }

  /** Sends a signal to the main process only (SIGHUP and friends, forwarded). */
  signal(signal: NodeJS.Signals): void {
    if (this.pid !== null) signalPid(this.pid, signal);
  }

  /** Resolves once nothing runs and no restart is pending. */
  idle(): Promise<void> {
    return this.active ? new Promise((resolve) => this.idleWaiters.push(resolve)) : Promise.resolve();
  }

  record(): StatusRecord {
    return {
      name: this.name,
      type: this.svc.type,
      state: this.state,
      pid: this.pid,
      since: this.since.toISOString(),
      restarts: this.restarts,
      lastExit: this.lastExit,
    };
  }

  private ended(exit: Exit): void {
    this.lastExit = { code: exit.code, signal: exit.signal, at: new Date().toISOString() };
    const what = describe(exit);
    if (this.state === 'stopping') {
      this.transition('finished', `stopped, ${what}`);
    } else if (exit.code === 0) {
      this.transition('finished', what);
    } else if (this.svc.type === 'long-run' && this.svc.restartOnFailure && this.host.mayStart()) {
      this.scheduleRestart(what);
    } else {
      this.transition('failed', what);
      this.host.failed(this, exitCodeOf(exit));
    }
    if (!this.active) this.wakeIdleWaiters();
  }

  private scheduleRestart(what: string): void {
    const delay = this.backoff.next(Date.now() - this.startedAt);
    this.restarts++;
    this.transition('backoff', `${what}; restarting in ${delay} ms (restart #${this.restarts})`);
    if (delay === 0) {
      this.start();
      return;
    }
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      this.start();
      if (!this.active) this.wakeIdleWaiters();
    }, delay);
  }

  private transition(state: State, detail: string): void {
    this.state = state;
    this.since = new Date();
    this.host.transition(this, detail);
    if (state === 'finished' || state === 'failed') this.host.logger(this.svc)?.close();
    if (!this.active) this.wakeIdleWaiters();
  }

  private wakeIdleWaiters(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    signalPid(pid, signal); // not a group leader (yet): at least the process itself
  }
}

function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}
