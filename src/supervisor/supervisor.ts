// Runs a plan in stages (oneshot-pre ▸ long-run ▸ oneshot-post), applies the
// failure policy, answers the control channel, and shuts everything down:
// TERM, a grace period that is a ceiling and not a sleep, then KILL.
import type { Plan, Service } from '../manifest/index.js';
import type { InitPhase, StateDir, StatusRecord } from '../control/state-dir.js';
import type { ControlHandler } from '../control/server.js';
import type { ActionOp, ReloadResult, ServiceResult } from '../control/protocol.js';
import { serviceLogs, stdoutSink, type ServiceLog, type Sink } from '../logs/index.js';
import { killAll, listChildren, listDescendants, onChildEvent, reapZombies } from '../pid1/index.js';
import { describeExit, describeTransition } from './describe.js';
import { buildLaunch, type Launch } from '../launch/launch.js';
import { flushLog, log } from '../logs/init-log.js';
import { ExecLogger } from '../launch/exec-logger.js';
import type { MainCommand } from '../launch/main-command.js';
import { ServiceRunner, signalGroup, type RunSignal, type ServiceHost, type TransitionEvent } from './service.js';
import { parseSignal } from '../unix/signals.js';
import { spawnProcess, spawnWithTerminal, type Running } from '../launch/spawn.js';
import type { RunCommand } from '../health/probe.js';
import { closeSync, openSync } from 'node:fs';
import { makePipe } from '../native/fds.js';
import type { ResolvedUser } from '../launch/users.js';

export interface SupervisorOptions {
  plan: Plan;
  env: NodeJS.ProcessEnv;
  /** resolved `user:` of each service that has one */
  users: Map<string, ResolvedUser>;
  /** absolute path of setpriv, when any service has a user */
  setpriv?: string;
  /** how long a service gets after its stop signal when it sets no stopTimeout (S6_SERVICES_GRACETIME, else S6_KILL_GRACETIME) */
  graceMs: number;
  /** how long what is left after the services (leftover processes) gets after SIGTERM (S6_KILL_GRACETIME) */
  killGraceMs: number;
  /** how long a signalled init waits, already not ready, before it stops anything (BERTH_PRESTOP_DELAY) */
  stopDelayMs: number;
  /** S6_DONT_TERMINATE_ON_ERROR: a failure is reported, and the init stays up for inspection */
  dontTerminate: boolean;
  /** S6_BEHAVIOUR_IF_STAGE2_FAILS: what a failed oneshot does: end the run (2, the default), or not (0, or 1 with a warning) */
  oneshotFailures: 0 | 1 | 2;
  stateDir?: StateDir;
  /** the manifest's path, for the init's record */
  manifest: string;
  /** settles once the control channel answers (or is known to be off): the init is `running` only then */
  controlReady?: Promise<unknown>;
  /** the container's CMD, run as the main program once the services are ready; its exit ends the run */
  main?: string[];
  /** how long the main program waits for the long-runs to be ready, 0 for as long as it takes (S6_CMD_WAIT_FOR_SERVICES_MAXTIME) */
  mainWaitMs: number;
  /** reads the manifest again for `berth reload`: the new plan and users, or why not (one line per problem) */
  reload?: () => Promise<{ plan: Plan; users: Map<string, ResolvedUser> } | { problems: string[] }>;
  /** called once, when every stage is done: start-up is over */
  afterStages?: () => void;
}

// After SIGKILL, how long to wait for the kernel to finish the job before exiting regardless.
const AFTER_KILL_MS = 1000;
/** After the services are gone, how long their execLoggers get to drain what is left in their pipes. */
export const LOGGER_DRAIN_MS = 5000;

/** The services that start after a given one (its `after` names it). */
type Dependents = (r: ServiceRunner) => ServiceRunner[];

export class Supervisor implements ServiceHost, ControlHandler {
  readonly runners = new Map<string, ServiceRunner>();
  private readonly loggers = new Map<string, ExecLogger>();
  private readonly serviceLogs: Map<string, ServiceLog>;
  private phase: InitPhase = 'starting';
  private shuttingDown = false;
  private stagesDone = false;
  private failureKept = false;
  /** the container's CMD, once it runs */
  private main?: MainCommand;
  /** set while a signalled init waits out its pre-stop delay: ends the wait */
  private draining?: () => void;
  private finish!: (code: number) => void;
  private readonly done = new Promise<number>((resolve) => (this.finish = resolve));
  // process.env is a slow proxy over the C environment: read it once, not per spawn
  private readonly env: Record<string, string>;

  constructor(private readonly opts: SupervisorOptions) {
    this.env = snapshotEnv(opts.env);
    const { pre, longRuns, post } = opts.plan;
    for (const svc of [...pre, ...longRuns, ...post]) this.runners.set(svc.name, new ServiceRunner(svc, this));
    this.serviceLogs = serviceLogs([...pre, ...longRuns, ...post]);
    for (const runner of this.runners.values()) opts.stateDir?.writeRecord(runner);
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
    const started = longRuns.map((svc) => this.startAfterDependencies(this.runner(svc)));
    // a long-run that could not start reports it in a microtask: hear it before the post stage
    await new Promise((resolve) => setImmediate(resolve));
    await Promise.all(started);
    if (!(await this.oneshots('oneshot-post', post))) return;
    await this.opts.controlReady;
    if (this.shuttingDown) return;
    this.stagesDone = true;
    this.setPhase('running');
    log('all stages done');
    this.opts.afterStages?.();
    if (this.opts.main) await this.runMain(this.opts.main);
    else this.exitIfFinished();
  }

  /** Runs the CMD once every long-run is ready (or finished); its exit code ends the run. */
  private async runMain(argv: string[]): Promise<void> {
    const longRuns = [...this.runners.values()].filter((r) => r.svc.type === 'long-run');
    const ready = Promise.all(longRuns.map((r) => r.until((x) => x.state === 'up' || !x.active)));
    const waitMs = this.opts.mainWaitMs;
    if (waitMs === 0) await ready;
    else if (!(await within(ready, Date.now() + waitMs))) {
      const late = longRuns.filter((r) => r.state !== 'up' && r.active).map((r) => `${r.name} (${r.state})`);
      log(`not ready within ${waitMs} ms (S6_CMD_WAIT_FOR_SERVICES_MAXTIME): ${late.join(', ')}; not running ${argv[0]}`, 'error');
      void this.shutdown(1, 'the services were not ready for the main command');
      return;
    }
    // node:child_process (libuv's spawn) loads only for a main command
    const { MainCommand } = await import('../launch/main-command.js');
    if (this.shuttingDown) return;
    const main = new MainCommand(argv);
    this.main = main;
    log(`running the main command: ${argv.join(' ')}`);
    flushLog(); // the story so far, before the main command writes to the same terminal
    main.start(this.env, (message) => log(message, 'error'));
    const code = await main.exited;
    log(`the main command exited with code ${code}`, code === 0 ? 'info' : 'error');
    void this.shutdown(code, 'the main command exited');
  }

  /** Runs oneshots one at a time, in plan order; false when a shutdown cut the stage short. */
  private async oneshots(stage: string, services: Service[]): Promise<boolean> {
    if (services.length) log(`stage ${stage}: ${count(services.length, 'task')}`);
    for (const svc of services) {
      if (this.shuttingDown) return false;
      const runner = this.runner(svc);
      await this.startAfterDependencies(runner);
      await runner.idle();
    }
    return !this.shuttingDown;
  }

  /**
   * Starts a service once the long-runs it names in `after` are ready (up), or
   * finished; a dependency that restarts meanwhile is waited for, not a
   * failure. One that ends failed or stopped means this service is not
   * started (said once). An operator's stop in the meantime is kept.
   */
  private startAfterDependencies(runner: ServiceRunner): Promise<void> | void {
    // most services wait for nothing: they start now, without an async function's promise (1,000 of them: ~15 ms under --lite-mode)
    if (!runner.svc.after.length) return this.startWanted(runner);
    return this.startAfterEach(runner);
  }

  private async startAfterEach(runner: ServiceRunner): Promise<void> {
    for (const name of runner.svc.after) {
      const dep = this.runners.get(name)!;
      if (dep.svc.type !== 'long-run') continue;
      await dep.until((d) => d.state === 'up' || d.state === 'finished' || (!d.active && (d.state === 'failed' || d.state === 'stopped')) || d.want === 'down');
      if (this.shuttingDown || runner.want === 'down') return;
      if (dep.state !== 'up' && dep.state !== 'finished') {
        log(`${runner.name}: not started: it starts after ${name}, which is ${dep.state}`);
        return;
      }
    }
    this.startWanted(runner);
  }

  private startWanted(runner: ServiceRunner): void {
    if (runner.want === 'up' && !this.shuttingDown) runner.start();
  }

  private runner(svc: Service): ServiceRunner {
    return this.runners.get(svc.name)!;
  }

  // ServiceHost: what each runner asks of the supervisor

  get graceMs(): number {
    return this.opts.graceMs;
  }

  spawn(svc: Service, run: RunSignal): Running {
    let launch;
    try {
      launch = this.launchOf(svc);
    } catch (err) {
      return { exited: Promise.resolve({ code: 126, signal: null, reason: (err as Error).message }) };
    }
    const logger = this.logger(svc);
    const kept = this.serviceLogs.get(svc.name)!;
    // relayed (unless passthrough): through the init's own pipes, to the logger (which gets the lines unformatted) or stdout
    const loggerSink = kept.recent ? logger?.sink() : undefined;
    // stdout's sink (process.stdout, and node:net with it) only once a line comes
    const sink = (): Sink => loggerSink ?? stdoutSink();
    if (svc.tty) {
      const out = kept.recent ? kept.writable(sink(), logger !== undefined) : (logger?.output() ?? process.stdout);
      return this.withReadiness(svc, spawnWithTerminal(launch, out), run);
    }
    const capture = kept.recent ? kept.capture(sink, logger !== undefined) : undefined;
    // s6's notification-fd: the service gets a pipe's write end as that fd, and writes a newline on it when ready
    const fd = svc.readiness?.kind === 'notification-fd' ? svc.readiness.fd : undefined;
    const notify = fd === undefined ? undefined : makePipe();
    const running = spawnProcess(launch, capture ?? logger?.input() ?? 1, undefined, notify ? { source: notify.write, target: fd! } : undefined);
    capture?.spawned();
    if (notify) closeSync(notify.write);
    if (notify && running.pid === undefined) closeSync(notify.read);
    // its last lines go out before the [berth] line about its exit
    const relayed = capture ? { ...running, exited: running.exited.then((exit) => (capture.exited(), exit)) } : running;
    return this.withReadiness(svc, relayed, run, notify?.read);
  }

  /** The exact program, arguments, environment and user for a service (or a probe command run as it). */
  private launchOf(svc: Service): Launch {
    return buildLaunch(svc, this.env, this.opts.users.get(svc.name), this.opts.setpriv);
  }

  /** Adds the readiness check to a running service; the health module loads only for services that have one. */
  private withReadiness(svc: Service, running: Running, run: RunSignal, notifyFd?: number): Running {
    const readiness = svc.readiness;
    if (!readiness || running.pid === undefined) return running;
    const { signal } = run;
    const probe = this.probeCommand(svc);
    const ready = import('../health/readiness.js').then((m) => m.whenReady(readiness, { notifyFd, signal, run: probe }));
    return { ...running, ready };
  }

  watchLiveness(svc: Service, signal: AbortSignal, onUnhealthy: (why: string) => void): void {
    const liveness = svc.liveness!;
    void import('../health/liveness.js').then((m) => m.watchLiveness(liveness, signal, this.probeCommand(svc), onUnhealthy));
  }

  /** Runs a probe's command as the service would run (its environment, user and directory), output discarded, killed at the timeout. */
  private probeCommand(svc: Service): RunCommand {
    return async (argv, timeoutMs) => {
      const launch = this.launchOf({ ...svc, argv });
      const running = spawnProcess(launch, devNull());
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        if (running.pid !== undefined) signalGroup(running.pid, 'SIGKILL');
      }, timeoutMs);
      const exit = await running.exited;
      clearTimeout(timer);
      return { ...exit, timedOut };
    };
  }

  logger(svc: Service): ExecLogger | undefined {
    if (!svc.execLogger) return undefined;
    let logger = this.loggers.get(svc.name);
    if (!logger) {
      logger = new ExecLogger(svc.name, svc.execLogger, this.launchOf(svc).env);
      this.loggers.set(svc.name, logger);
    }
    return logger;
  }

  observe(event: TransitionEvent, runner: ServiceRunner): void {
    log(describeTransition(event), event.to === 'failed' ? 'error' : 'info');
    this.opts.stateDir?.writeRecord(runner);
    if (event.to === 'finished' || event.to === 'stopped') this.exitIfFinished();
  }

  failed(runner: ServiceRunner, exitCode: number): void {
    if (this.shuttingDown) return;
    if (!runner.svc.essential) {
      log(`${runner.name} failed; it is not essential (essential: false), so the rest goes on`);
      this.exitIfFinished();
      return;
    }
    if (runner.svc.type !== 'long-run' && this.opts.oneshotFailures < 2) {
      if (this.opts.oneshotFailures === 1) log(`warning: ${runner.name} failed; S6_BEHAVIOUR_IF_STAGE2_FAILS=1, so the rest goes on`);
      this.exitIfFinished();
      return;
    }
    if (this.opts.dontTerminate) {
      this.failureKept = true;
      log(`${runner.name} failed; S6_DONT_TERMINATE_ON_ERROR is set, so the init keeps running until it is sent SIGTERM`, 'error');
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
    if (!this.stagesDone || this.shuttingDown || this.failureKept || this.opts.main) return;
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

  /** What the HTTP endpoint answers from. */
  healthView(): { init: { pid: number; phase: InitPhase }; services: Array<StatusRecord & { essential: boolean }> } {
    return { init: { pid: process.pid, phase: this.phase }, services: [...this.runners.values()].map((r) => ({ ...r.record(), essential: r.svc.essential })) };
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
    const running = r.active;
    r.stop();
    await r.idle();
    return result(r, true, running ? 'stopped' : 'not running');
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

  /**
   * Re-reads the manifest and applies the difference: added services start,
   * removed ones stop, changed ones stop and start again with their new
   * definition; the others keep running untouched. A manifest that does not
   * validate changes nothing.
   */
  async reload(): Promise<ReloadResult | { problems: string[] }> {
    if (!this.stagesDone) throw new Error(`the init is still starting (phase ${this.phase}); reload once every stage is done`);
    if (!this.opts.reload) throw new Error('this init cannot re-read its manifest');
    const loaded = await this.opts.reload();
    if ('problems' in loaded) return loaded;
    const next = [...loaded.plan.pre, ...loaded.plan.longRuns, ...loaded.plan.post];
    const wanted = new Map(next.map((svc) => [svc.name, svc]));
    const same = (r: ServiceRunner): boolean => JSON.stringify(r.svc) === JSON.stringify(wanted.get(r.name));
    const old = [...this.runners.values()];
    const removed = old.filter((r) => !wanted.has(r.name));
    const changed = old.filter((r) => wanted.has(r.name) && !same(r));
    log(`reloading ${this.opts.manifest}: ${removed.length} removed, ${changed.length} changed, ${next.length - old.length + removed.length} added`);
    await Promise.all([...removed, ...changed].map((r) => (r.stop(), r.idle())));
    if (this.shuttingDown) throw new Error('the init began shutting down during the reload');
    for (const r of [...removed, ...changed]) {
      this.loggers.get(r.name)?.close();
      this.loggers.delete(r.name);
    }
    for (const r of removed) {
      this.opts.stateDir?.removeRecord(r.name);
      this.serviceLogs.delete(r.name);
    }
    this.opts.users = loaded.users;
    const kept = new Map(old.filter((r) => wanted.has(r.name) && same(r)).map((r) => [r.name, r]));
    this.runners.clear();
    const fresh: ServiceRunner[] = [];
    for (const svc of next) {
      const runner = kept.get(svc.name) ?? new ServiceRunner(svc, this);
      if (!kept.has(svc.name)) fresh.push(runner);
      this.runners.set(svc.name, runner);
      this.opts.stateDir?.writeRecord(runner);
    }
    // a changed service may log another way: its kept output starts anew
    for (const [name, kept] of serviceLogs(fresh.map((r) => r.svc))) this.serviceLogs.set(name, kept);
    await Promise.all(fresh.map((r) => this.startAfterDependencies(r)));
    const names = (rs: ServiceRunner[]): string[] => rs.map((r) => r.name);
    const restarted = names(changed);
    return { added: names(fresh).filter((n) => !restarted.includes(n)), removed: names(removed), restarted, unchanged: kept.size };
  }

  // Signals to the init

  /** Forwards SIGHUP, SIGUSR1 or SIGUSR2 to every running long-run. */
  forward(signal: NodeJS.Signals): void {
    log(`forwarding ${signal} to the long-runs`);
    for (const r of this.runners.values()) if (r.svc.type === 'long-run') r.signal(signal);
  }

  /** The first SIGTERM/SIGINT: stop gracefully (after the pre-stop delay, if one is set), exit 0. */
  requestStop(signal: NodeJS.Signals): void {
    // Ctrl-C on the container's terminal is for the main command, which got it
    // from the terminal already (same process group); sent to us alone, we pass it on
    if (signal === 'SIGINT' && this.main?.running) {
      if (!process.stdin.isTTY) this.main.signal('SIGINT');
      return;
    }
    if (this.draining) {
      log(`${signal} again: no more waiting, stopping now`);
      this.draining();
      return;
    }
    if (this.shuttingDown) {
      log(`${signal} again: killing everything now`);
      for (const r of this.runners.values()) r.kill();
      killAll('SIGKILL');
      return;
    }
    void this.shutdown(0, `received ${signal}`, this.opts.stopDelayMs);
  }


  async shutdown(code: number, why: string, delayMs = 0): Promise<void> {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    this.setPhase('stopping');
    if (delayMs > 0) {
      // already stopping, so /readyz and berth check fail and a load balancer drains the container first
      log(`${why}: stopping the services in ${delayMs} ms (BERTH_PRESTOP_DELAY); until then they keep serving`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delayMs);
        this.draining = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.draining = undefined;
    }
    const runners = [...this.runners.values()];
    const live = runners.filter((r) => r.active);
    log(`shutting down (${why}): ${live.length ? `stopping ${count(live.length, 'service')}, ` : ''}grace ${this.opts.graceMs} ms`);
    const allIdle = (): Promise<unknown> => Promise.all(runners.map((r) => r.idle()));
    await this.stopMain();
    const dependents = this.dependents();
    if (!(await within(this.stopInOrder(dependents), Date.now() + this.stopCeilingMs(dependents)))) {
      for (const r of runners) r.kill();
      await within(allIdle(), Date.now() + AFTER_KILL_MS);
    }
    await this.drainLoggers();
    reapZombies(); // exited leftovers are no reason to signal anyone
    const leftovers = listDescendants().length;
    const deadline = Date.now() + this.opts.killGraceMs;
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
    log(`exiting with code ${code}`, code === 0 ? 'info' : 'error');
    flushLog();
    // a slow reader of stdout still gets the last lines, within bounds
    await within(stdoutSink().drained(), Date.now() + LOGGER_DRAIN_MS);
    this.finish(code);
  }

  /** The main command goes first: it came last, after every service was ready. */
  private async stopMain(): Promise<void> {
    const main = this.main;
    if (!main?.running) return;
    log(`main command: sending SIGTERM (pid ${main.pid})`);
    main.signal('SIGTERM');
    if (!(await within(main.exited, Date.now() + this.opts.graceMs))) {
      log(`main command: sending SIGKILL (pid ${main.pid})`);
      main.signal('SIGKILL');
      await within(main.exited, Date.now() + AFTER_KILL_MS);
    }
  }

  /**
   * Stops every service after the services that start after it (its
   * dependents): a web server goes before its database. Nothing restarts
   * meanwhile. Each service gets its own stop timeout, then SIGKILL.
   */
  private stopInOrder(dependents: Dependents): Promise<unknown> {
    const runners = [...this.runners.values()];
    for (const r of runners) r.hold();
    return Promise.all(
      runners.map(async (r) => {
        await Promise.all(dependents(r).map((d) => d.idle()));
        r.stop();
        await r.idle();
      }),
    );
  }

  /** Who starts after whom, gathered in one pass: asked per service, 1,000 services made a million look-ups. */
  private dependents(): Dependents {
    const of = new Map<string, ServiceRunner[]>();
    for (const d of this.runners.values()) {
      for (const name of d.svc.after) {
        const list = of.get(name);
        if (list) list.push(d);
        else of.set(name, [d]);
      }
    }
    return (r) => of.get(r.name) ?? [];
  }

  /** The longest an ordered stop can take: each level of dependents waits out its stop timeout before the next. */
  private stopCeilingMs(dependents: Dependents): number {
    const depth = new Map<ServiceRunner, number>();
    const levels = (r: ServiceRunner): number => {
      if (!depth.has(r)) depth.set(r, 1 + Math.max(0, ...dependents(r).map(levels)));
      return depth.get(r)!;
    };
    let longest = 0;
    let deepest = 1;
    for (const r of this.runners.values()) {
      longest = Math.max(longest, r.svc.stopTimeoutMs ?? this.opts.graceMs);
      deepest = Math.max(deepest, levels(r));
    }
    return deepest * (longest + AFTER_KILL_MS);
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

let devNullFd: number | undefined;
function devNull(): number {
  devNullFd ??= openSync('/dev/null', 'w');
  return devNullFd;
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
