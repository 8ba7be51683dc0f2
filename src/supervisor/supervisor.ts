// Runs a plan in stages (oneshot-pre ▸ long-run ▸ oneshot-post), applies the
// failure policy, and shuts everything down: TERM, a grace period that is a
// ceiling and not a sleep, then KILL.
import type { Plan, Service } from '../manifest/index.js';
import type { StateDir } from '../control/state-dir.js';
import { killAll, listChildren, listDescendants, onChildEvent, reapZombies } from '../pid1/index.js';
import { buildLaunch, type Launch } from './launch.js';
import { flushLog, log } from './log.js';
import { ExecLogger } from './logger.js';
import { ServiceRunner, type ServiceHost } from './service.js';
import type { ResolvedUser } from './users.js';

export interface SupervisorOptions {
  plan: Plan;
  env: NodeJS.ProcessEnv;
  /** resolved `user:` of each service that has one */
  users: Map<string, ResolvedUser>;
  /** absolute path of setpriv, when any service has a user */
  setpriv?: string;
  graceMs: number;
  /** S6_DONT_TERMINATE_ON_ERROR: a failure is reported, and the init stays up for inspection */
  dontTerminate: boolean;
  stateDir?: StateDir;
}

// After SIGKILL, how long to wait for the kernel to finish the job before exiting regardless.
const AFTER_KILL_MS = 1000;

export class Supervisor implements ServiceHost {
  readonly runners = new Map<string, ServiceRunner>();
  private readonly loggers = new Map<string, ExecLogger>();
  private shuttingDown = false;
  private stagesDone = false;
  private failureKept = false;
  private finish!: (code: number) => void;
  private readonly done = new Promise<number>((resolve) => (this.finish = resolve));
  // process.env is a slow proxy over the C environment: read it once, not per spawn
  private readonly env: Record<string, string>;

  constructor(private readonly opts: SupervisorOptions) {
    this.env = snapshotEnv(opts.env);
    const { pre, longRuns, post } = opts.plan;
    for (const svc of [...pre, ...longRuns, ...post]) this.runners.set(svc.name, new ServiceRunner(svc, this));
    for (const runner of this.runners.values()) opts.stateDir?.writeRecord(runner.record());
  }

  /** Runs the stages; resolves with the init's exit code once everything is down. */
  run(): Promise<number> {
    void this.stages();
    return this.done;
  }

  private async stages(): Promise<void> {
    const { pre, longRuns, post } = this.opts.plan;
    if (!(await this.oneshots('oneshot-pre', pre))) return;
    if (longRuns.length) log(`stage long-run: starting ${count(longRuns.length, 'service')}`);
    for (const svc of longRuns) this.runner(svc).start();
    // a long-run that could not start reports it in a microtask: hear it before the post stage
    await new Promise((resolve) => setImmediate(resolve));
    if (!(await this.oneshots('oneshot-post', post))) return;
    this.stagesDone = true;
    log('all stages done');
    this.exitIfFinished();
  }

  /** Runs oneshots one at a time, in plan order; false when a shutdown cut the stage short. */
  private async oneshots(stage: string, services: Service[]): Promise<boolean> {
    if (services.length) log(`stage ${stage}: ${count(services.length, 'task')}`);
    for (const svc of services) {
      if (this.shuttingDown) return false;
      const runner = this.runner(svc);
      runner.start();
      await runner.idle();
    }
    return !this.shuttingDown;
  }

  private runner(svc: Service): ServiceRunner {
    return this.runners.get(svc.name)!;
  }

  // ServiceHost: what each runner asks of the supervisor

  launch(svc: Service): Launch {
    return buildLaunch(svc, this.env, this.opts.users.get(svc.name), this.opts.setpriv);
  }

  logger(svc: Service): ExecLogger | undefined {
    if (!svc.execLogger) return undefined;
    let logger = this.loggers.get(svc.name);
    if (!logger) {
      logger = new ExecLogger(svc.name, svc.execLogger, this.launch(svc).env);
      this.loggers.set(svc.name, logger);
    }
    return logger;
  }

  transition(runner: ServiceRunner, detail: string): void {
    log(`${runner.name}: ${detail}`);
    this.opts.stateDir?.writeRecord(runner.record());
    if (runner.state === 'finished') this.exitIfFinished();
  }

  failed(runner: ServiceRunner, exitCode: number): void {
    if (this.shuttingDown) return;
    if (this.opts.dontTerminate) {
      this.failureKept = true;
      log(`${runner.name} failed; S6_DONT_TERMINATE_ON_ERROR is set, so the init keeps running until it is sent SIGTERM`);
      return;
    }
    void this.shutdown(exitCode, `${runner.name} failed`);
  }

  mayStart(): boolean {
    return !this.shuttingDown;
  }

  /** When the stages are done and nothing is left to run, the container's work is over. */
  private exitIfFinished(): void {
    if (!this.stagesDone || this.shuttingDown || this.failureKept) return;
    for (const r of this.runners.values()) if (r.active) return;
    void this.shutdown(0, 'every service has finished');
  }

  /** Forwards SIGHUP, SIGUSR1 or SIGUSR2 to every running long-run. */
  forward(signal: NodeJS.Signals): void {
    log(`forwarding ${signal} to the long-runs`);
    for (const r of this.runners.values()) if (r.svc.type === 'long-run') r.signal(signal);
  }

  /** The first SIGTERM/SIGINT: stop gracefully, exit 0. */
  requestStop(signal: NodeJS.Signals): void {
    if (this.shuttingDown) {
      log(`${signal} again: killing everything now`);
      for (const r of this.runners.values()) r.stop('SIGKILL');
      killAll('SIGKILL');
      return;
    }
    void this.shutdown(0, `received ${signal}`);
  }

  async shutdown(code: number, why: string): Promise<void> {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    const deadline = Date.now() + this.opts.graceMs;
    const runners = [...this.runners.values()];
    const live = runners.filter((r) => r.active);
    log(`shutting down (${why}): ${live.length ? `stopping ${count(live.length, 'service')}, ` : ''}grace ${this.opts.graceMs} ms`);
    for (const r of runners) r.stop('SIGTERM');
    const allIdle = (): Promise<unknown> => Promise.all(runners.map((r) => r.idle()));
    if (!(await within(allIdle(), deadline))) {
      for (const r of runners) r.stop('SIGKILL');
      await within(allIdle(), Date.now() + AFTER_KILL_MS);
    }
    // loggers drain what the services wrote, then see EOF
    const loggers = [...this.loggers.values()];
    for (const l of loggers) l.close();
    await within(Promise.all(loggers.map((l) => l.exited())), deadline);
    reapZombies(); // exited leftovers are no reason to signal anyone
    const leftovers = listDescendants().length;
    if (leftovers) {
      log(`stopping ${count(leftovers, 'leftover process', 'leftover processes')}: sending SIGTERM`);
      killAll('SIGTERM');
      if (!(await within(noChildren(), deadline))) {
        log(`${count(listDescendants().length, 'leftover process', 'leftover processes')} still running after the grace: sending SIGKILL`);
        killAll('SIGKILL');
        await within(noChildren(), Date.now() + AFTER_KILL_MS);
      }
    }
    this.opts.stateDir?.release();
    log(`exiting with code ${code}`);
    flushLog();
    this.finish(code);
  }
}

function snapshotEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}

function count(n: number, noun: string, plural = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : plural}`;
}

/** Resolves when this process has no child left, living or zombie; woken by child events, never polled. */
function noChildren(): Promise<void> {
  return new Promise((resolve) => {
    const check = (): void => {
      if (listChildren().length === 0) {
        stop();
        resolve();
      }
    };
    const stop = onChildEvent(check);
    check();
  });
}

/** Waits for `p` until `deadline`; true if it settled in time. */
async function within(p: Promise<unknown>, deadline: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now()))));
  try {
    return await Promise.race([p.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
