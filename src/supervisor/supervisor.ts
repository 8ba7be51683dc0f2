// Runs a plan in stages (oneshot-pre ▸ long-run ▸ oneshot-post), applies the
// failure policy, answers the control channel, and shuts everything down:
// TERM, a grace period that is a ceiling and not a sleep, then KILL.
import type { Plan, Service } from '../manifest/index.js';
import type { InitPhase, StateDir, StatusRecord } from '../control/state-dir.js';
import type { ControlHandler } from '../control/server.js';
import type { ActionOp, ServiceResult } from '../control/protocol.js';
import { serviceLogs, stdoutSink, type ServiceLog } from '../logs/index.js';
import { killAll, listChildren, listDescendants, onChildEvent, reapZombies } from '../pid1/index.js';
import { describeExit, describeTransition } from './describe.js';
import { buildLaunch } from './launch.js';
import { flushLog, log } from './log.js';
import { ExecLogger } from './logger.js';
import { ServiceRunner, type ServiceHost, type TransitionEvent } from './service.js';
import { parseSignal } from './signals.js';
import { spawnProcess, spawnWithTerminal, type Running } from './spawn.js';
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
  /** the manifest's path, for the init's record */
  manifest: string;
  /** settles once the control channel answers (or is known to be off): the init is `running` only then */
  controlReady?: Promise<unknown>;
}

// After SIGKILL, how long to wait for the kernel to finish the job before exiting regardless.
const AFTER_KILL_MS = 1000;
/** After the services are gone, how long their execLoggers get to drain what is left in their pipes. */
export const LOGGER_DRAIN_MS = 5000;

export class Supervisor implements ServiceHost, ControlHandler {
  readonly runners = new Map<string, ServiceRunner>();
  private readonly loggers = new Map<string, ExecLogger>();
  private readonly serviceLogs: Map<string, ServiceLog>;
  private phase: InitPhase = 'starting';
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
    this.serviceLogs = serviceLogs([...pre, ...longRuns, ...post]);
    for (const runner of this.runners.values()) opts.stateDir?.writeRecord(runner.record());
    this.setPhase('starting');
  }

  /** Runs the stages; resolves with the init's exit code once everything is down. */
  run(): Promise<number> {
    void this.stages();
    return this.done;
  }

  private setPhase(phase: InitPhase): void {
    this.phase = phase;
    this.opts.stateDir?.writePhase({ pid: process.pid, phase, since: new Date().toISOString(), manifest: this.opts.manifest });
  }

  private async stages(): Promise<void> {
    const { pre, longRuns, post } = this.opts.plan;
    if (!(await this.oneshots('oneshot-pre', pre))) return;
    if (longRuns.length) log(`stage long-run: starting ${count(longRuns.length, 'service')}`);
    for (const svc of longRuns) this.startByStage(this.runner(svc));
    // a long-run that could not start reports it in a microtask: hear it before the post stage
    await new Promise((resolve) => setImmediate(resolve));
    if (!(await this.oneshots('oneshot-post', post))) return;
    await this.opts.controlReady;
    if (this.shuttingDown) return;
    this.stagesDone = true;
    this.setPhase('running');
    log('all stages done');
    this.exitIfFinished();
  }

  /** Runs oneshots one at a time, in plan order; false when a shutdown cut the stage short. */
  private async oneshots(stage: string, services: Service[]): Promise<boolean> {
    if (services.length) log(`stage ${stage}: ${count(services.length, 'task')}`);
    for (const svc of services) {
      if (this.shuttingDown) return false;
      const runner = this.runner(svc);
      this.startByStage(runner);
      await runner.idle();
    }
    return !this.shuttingDown;
  }

  /** A stage starts what an operator has not stopped in the meantime. */
  private startByStage(runner: ServiceRunner): void {
    if (runner.want === 'up') runner.start();
  }

  private runner(svc: Service): ServiceRunner {
    return this.runners.get(svc.name)!;
  }

  // ServiceHost: what each runner asks of the supervisor

  spawn(svc: Service): Running {
    let launch;
    try {
      launch = buildLaunch(svc, this.env, this.opts.users.get(svc.name), this.opts.setpriv);
    } catch (err) {
      return { exited: Promise.resolve({ code: 126, signal: null, reason: (err as Error).message }) };
    }
    const logger = this.logger(svc);
    const log = this.serviceLogs.get(svc.name)!;
    if (!log.recent) return svc.tty ? spawnWithTerminal(launch, logger?.output() ?? process.stdout) : spawnProcess(launch, logger?.input() ?? 1);
    // relayed: through the init's own pipes, to the logger (which gets the lines unformatted) or stdout
    const sink = logger?.sink() ?? stdoutSink();
    if (svc.tty) return spawnWithTerminal(launch, log.writable(sink, logger !== undefined));
    const capture = log.capture(sink, logger !== undefined);
    const running = spawnProcess(launch, capture);
    capture.spawned();
    // its last lines go out before the [berth] line about its exit
    return { pid: running.pid, exited: running.exited.then((exit) => (capture.exited(), exit)) };
  }

  logger(svc: Service): ExecLogger | undefined {
    if (!svc.execLogger) return undefined;
    let logger = this.loggers.get(svc.name);
    if (!logger) {
      logger = new ExecLogger(svc.name, svc.execLogger, buildLaunch(svc, this.env, this.opts.users.get(svc.name), this.opts.setpriv).env);
      this.loggers.set(svc.name, logger);
    }
    return logger;
  }

  observe(event: TransitionEvent, runner: ServiceRunner): void {
    log(describeTransition(event));
    this.opts.stateDir?.writeRecord(runner.record());
    if (event.to === 'finished' || event.to === 'stopped') this.exitIfFinished();
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

  /**
   * When the stages are done and nothing is left to run, the container's work
   * is over, unless an operator stopped a service: then the init waits for
   * them to start it again, or for a signal.
   */
  private exitIfFinished(): void {
    if (!this.stagesDone || this.shuttingDown || this.failureKept) return;
    for (const r of this.runners.values()) if (r.active || r.want === 'down') return;
    void this.shutdown(0, 'every service has finished');
  }

  // ControlHandler: what the control channel asks

  names(): string[] {
    return [...this.runners.keys()];
  }

  status(): { init: { pid: number; phase: InitPhase }; services: StatusRecord[] } {
    return { init: { pid: process.pid, phase: this.phase }, services: [...this.runners.values()].map((r) => r.record()) };
  }

  logs(name: string): ServiceLog {
    return this.serviceLogs.get(name)!;
  }

  refusal(): string | undefined {
    return this.shuttingDown ? 'the init is shutting down' : undefined;
  }

  act(op: ActionOp, names: string[], signal?: string): Promise<ServiceResult[]> {
    const runners = names.map((n) => this.runners.get(n)!);
    if (op === 'signal') return Promise.resolve(runners.map((r) => this.signalOne(r, signal ?? '')));
    const action = op === 'start' ? this.startOne : op === 'stop' ? this.stopOne : this.restartOne;
    return Promise.all(runners.map((r) => action.call(this, r)));
  }

  private async startOne(r: ServiceRunner): Promise<ServiceResult> {
    if (r.state === 'down' && r.want === 'up') return result(r, false, 'not started yet: its stage has not begun');
    if (r.state === 'stopping') await r.idle();
    if (this.shuttingDown) return result(r, false, 'the init is shutting down');
    if (!r.start()) return result(r, true, 'already running');
    const longRun = r.svc.type === 'long-run';
    // a long-run is started once it is up; a oneshot once it has run to the end
    await r.until((x) => (longRun && x.state === 'up') || !x.active);
    if (r.state === 'up') return result(r, true, `started (pid ${r.pid})`);
    if (r.state === 'finished') return result(r, true, longRun ? 'started and already finished' : 'ran to the end');
    return result(r, false, r.lastExit ? describeExit({ ...r.lastExit, signal: r.lastExit.signal as NodeJS.Signals | null }) : r.state);
  }

  private async stopOne(r: ServiceRunner): Promise<ServiceResult> {
    if (!r.active) {
      r.stop();
      return result(r, true, 'not running');
    }
    r.stop('SIGTERM');
    const grace = setTimeout(() => r.kill(), this.opts.graceMs);
    await r.idle();
    clearTimeout(grace);
    return result(r, true, 'stopped');
  }

  private async restartOne(r: ServiceRunner): Promise<ServiceResult> {
    if (r.state === 'down' && r.want === 'up') return result(r, false, 'not started yet: its stage has not begun');
    await this.stopOne(r);
    return this.startOne(r);
  }

  private signalOne(r: ServiceRunner, name: string): ServiceResult {
    const signal = parseSignal(name);
    if (!signal) return result(r, false, `unknown signal '${name}'`);
    return r.signal(signal) ? result(r, true, `sent ${signal} to pid ${r.pid}`) : result(r, false, 'not running');
  }

  // Signals to the init

  /** Forwards SIGHUP, SIGUSR1 or SIGUSR2 to every running long-run. */
  forward(signal: NodeJS.Signals): void {
    log(`forwarding ${signal} to the long-runs`);
    for (const r of this.runners.values()) if (r.svc.type === 'long-run') r.signal(signal);
  }

  /** The first SIGTERM/SIGINT: stop gracefully, exit 0. */
  requestStop(signal: NodeJS.Signals): void {
    if (this.shuttingDown) {
      log(`${signal} again: killing everything now`);
      for (const r of this.runners.values()) r.kill();
      killAll('SIGKILL');
      return;
    }
    void this.shutdown(0, `received ${signal}`);
  }

  async shutdown(code: number, why: string): Promise<void> {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    this.setPhase('stopping');
    const deadline = Date.now() + this.opts.graceMs;
    const runners = [...this.runners.values()];
    const live = runners.filter((r) => r.active);
    log(`shutting down (${why}): ${live.length ? `stopping ${count(live.length, 'service')}, ` : ''}grace ${this.opts.graceMs} ms`);
    for (const r of runners) r.stop('SIGTERM');
    const allIdle = (): Promise<unknown> => Promise.all(runners.map((r) => r.idle()));
    if (!(await within(allIdle(), deadline))) {
      for (const r of runners) r.kill();
      await within(allIdle(), Date.now() + AFTER_KILL_MS);
    }
    await this.drainLoggers();
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
    // a slow reader of stdout still gets the last lines, within bounds
    await within(stdoutSink().drained(), Date.now() + LOGGER_DRAIN_MS);
    this.finish(code);
  }

  /**
   * The services are gone: their loggers get EOF and a window of their own to
   * write what is left in their pipes, however much of the grace the services
   * took. Only a logger still running after that is a leftover.
   */
  private async drainLoggers(): Promise<void> {
    const loggers = [...this.loggers.values()];
    for (const l of loggers) l.close();
    if (!(await within(Promise.all(loggers.map((l) => l.exited())), Date.now() + LOGGER_DRAIN_MS))) {
      log(`execLoggers still running ${LOGGER_DRAIN_MS} ms after their services stopped`);
    }
  }
}

function result(r: ServiceRunner, ok: boolean, message: string): ServiceResult {
  return { service: r.name, ok, state: r.state, message };
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
