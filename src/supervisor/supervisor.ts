// Runs a plan in stages (oneshot-pre ▸ long-run ▸ oneshot-post) and applies
// the failure policy. Its services' processes come from the launcher
// (src/launch); the control channel's answers are in control-handler.ts; the
// ordered stop is shutdown.ts. The init's phase changes only through its
// table (init-phase.ts), a service's only through its runner's.
import type { Plan, Service } from '../manifest/index.js';
import { isTimeZone } from '../manifest/index.js';
import { Scheduler } from '../jobs/scheduler.js';
import type { StateDir } from '../control/state-dir.js';
import { flushLog, log } from '../logs/init-log.js';
import { Launcher } from '../launch/launcher.js';
import { formatMemory } from '../manifest/quantity.js';
import { Limiter, mebibytes } from '../resources/limiter.js';
import type { Overrun } from '../resources/watcher.js';
import type { ServiceEnvironment } from '../launch/launch.js';
import type { MainCommand } from '../launch/main-command.js';
import type { ResolvedUser } from '../launch/users.js';
import { within } from './deadline.js';
import { count, describeTransition } from './describe.js';
import { isShuttingDown, nextPhase, publicPhase, type Phase, type PhaseInput } from './init-phase.js';
import { ServiceRunner, type Observer, type TransitionEvent } from './service.js';
import { Shutdown } from './shutdown.js';
import { Watches } from './watches.js';

/** How long a start burst runs before it lets the event loop turn (a SIGTERM, exits, relayed output). */
const BURST_SLICE_MS = 20;

export interface SupervisorOptions {
  plan: Plan;
  env: NodeJS.ProcessEnv;
  /** what each service's own dotenv and secret files add */
  serviceEnv?: Map<string, ServiceEnvironment>;
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
  /** called once, when every stage is done: start-up is over */
  afterStages?: () => void;
}

export class Supervisor implements Observer {
  readonly runners = new Map<string, ServiceRunner>();
  readonly launcher: Launcher;
  private currentPhase: Phase = 'starting';
  /** a failure that S6_DONT_TERMINATE_ON_ERROR kept from ending the run: the init then never exits on its own */
  private failureKept = false;
  /** the container's CMD, once it runs */
  private main?: MainCommand;
  private readonly shutdown: Shutdown;
  /** what each service's `watch:` paths do on a change */
  readonly watches = new Watches({
    runner: (name) => this.runners.get(name),
    extrasOf: (name) => (this.jobs?.extrasOf(name) ?? []) as ServiceRunner[],
    shuttingDown: () => this.shuttingDown,
  });
  /** runs the scheduled jobs; made when the first job is armed */
  jobs?: Scheduler;
  private finish!: (code: number) => void;
  private readonly done = new Promise<number>((resolve) => (this.finish = resolve));

  constructor(readonly opts: SupervisorOptions) {
    const { pre, longRuns, post, jobs } = opts.plan;
    const services = [...pre, ...longRuns, ...post, ...jobs];
    this.launcher = new Launcher({ env: opts.env, serviceEnv: opts.serviceEnv, users: opts.users, setpriv: opts.setpriv, services, limits: (all) => this.limits(all) });
    for (const svc of services) this.adopt(svc);
    this.shutdown = new Shutdown({
      runners: () => [...this.runners.values(), ...(this.jobs?.extras() ?? [])] as ServiceRunner[],
      main: () => this.main,
      launcher: this.launcher,
      graceMs: opts.graceMs,
      killGraceMs: opts.killGraceMs,
      enter: (input) => this.enter(input),
      shuttingDown: () => this.shuttingDown,
      release: () => opts.stateDir?.release(),
      // every service is gone: their cgroups go too (bounded: a cgroup still busy is given 2 s, then named)
      exit: (code) =>
        void this.launcher.closeLimits().then(() => {
          if (this.enter({ kind: 'stopped' })) this.finish(code);
        }),
    });
    this.writePhase();
  }

  get phase(): Phase {
    return this.currentPhase;
  }

  get shuttingDown(): boolean {
    return isShuttingDown(this.currentPhase);
  }

  /** Runs the stages; resolves with the init's exit code once everything is down. */
  run(): Promise<number> {
    void this.stages();
    return this.done;
  }

  /** What keeps the services' limits, when any has some; it says once how each is kept. */
  private limits(services: Service[]): Limiter | undefined {
    const limiter = Limiter.open(services, this.opts.env, (name, overrun) => this.overrun(name, overrun));
    if (limiter) log(limiter.describe(services), limiter.noCgroups ? 'warning' : 'info');
    return limiter;
  }

  /** The watcher found a service past a limit: it is ended as a failure (its restart policy applies); past its memory, as an OOM kill. */
  private overrun(name: string, o: Overrun): void {
    const what = o.kind === 'memory' ? `over its memory limit (${mebibytes(o.usage)} of ${formatMemory(o.limit)})` : `over its pids limit (${o.usage} processes and threads, limit ${o.limit})`;
    this.runners.get(name)?.overLimit(what, o.kind === 'memory' ? { by: 'watcher', limit: o.limit } : undefined);
  }

  /** A runner for `svc`, in the runner set, its record written. */
  adopt(svc: Service): ServiceRunner {
    const runner = new ServiceRunner(svc, this.launcher, this, this.opts.graceMs);
    this.runners.set(svc.name, runner);
    this.opts.stateDir?.writeRecord(runner);
    this.watches.watch(svc);
    return runner;
  }

  /** The one place the init's phase changes; false when the input changes nothing now. */
  private enter(input: PhaseInput): boolean {
    const next = nextPhase(this.currentPhase, input);
    if (!next) return false;
    if (isShuttingDown(next)) {
      this.jobs?.stop();
      this.watches.close();
    }
    const shown = publicPhase(this.currentPhase);
    this.currentPhase = next;
    // the state dir is released on the way out: nothing to write for `exited`
    if (next !== 'exited' && publicPhase(next) !== shown) this.writePhase();
    return true;
  }

  private writePhase(): void {
    this.opts.stateDir?.writePhase({ pid: process.pid, phase: publicPhase(this.currentPhase), since: new Date().toISOString(), manifest: this.opts.manifest });
  }

  private async stages(): Promise<void> {
    const { pre, longRuns, post, jobs } = this.opts.plan;
    if (!(await this.oneshots('oneshot-pre', pre))) return;
    if (longRuns.length) log(`stage long-run: starting ${count(longRuns.length, 'service')}`);
    if (jobs.length) log(`scheduling ${count(jobs.length, 'job')}`);
    const started = await this.burst([...longRuns, ...jobs]);
    if (!started) return;
    // a long-run that could not start reports it in a microtask: hear it before the post stage
    await new Promise((resolve) => setImmediate(resolve));
    await Promise.all(started);
    if (!(await this.oneshots('oneshot-post', post))) return;
    await this.opts.controlReady;
    if (!this.enter({ kind: 'stages-done' })) return;
    log('all stages done');
    this.opts.afterStages?.();
    if (this.opts.main) await this.runMain(this.opts.main);
    else this.exitIfFinished();
  }

  /**
   * Starts the long-runs, pausing every few milliseconds so that a burst of
   * any size hears a signal (and child exits, and relayed output) within a
   * slice; undefined when a stop cut it short.
   */
  private async burst(longRuns: Service[]): Promise<Array<Promise<void> | void> | undefined> {
    const release = this.opts.stateDir?.holdRecords();
    try {
      const started: Array<Promise<void> | void> = [];
      let slice = Date.now();
      for (const svc of longRuns) {
        if (this.shuttingDown) return undefined;
        started.push(this.startAfterDependencies(this.runner(svc)));
        if (Date.now() - slice >= BURST_SLICE_MS) {
          await new Promise((resolve) => setImmediate(resolve));
          slice = Date.now();
        }
      }
      return started;
    } finally {
      release?.();
    }
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
      this.stop(1, 'the services were not ready for the main command');
      return;
    }
    // node:child_process (libuv's spawn) loads only for a main command
    const { MainCommand } = await import('../launch/main-command.js');
    if (this.shuttingDown) return;
    const main = new MainCommand(argv);
    this.main = main;
    log(`running the main command: ${argv.join(' ')}`);
    flushLog(); // the story so far, before the main command writes to the same terminal
    main.start(this.launcher.env, (message) => log(message, 'error'));
    const code = await main.exited;
    log(`the main command exited with code ${code}`, code === 0 ? 'info' : 'error');
    this.stop(code, 'the main command exited');
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
  startAfterDependencies(runner: ServiceRunner): Promise<void> | void {
    // a job waits for its dependencies run by run, not once
    if (runner.svc.type === 'scheduled') return this.arm(runner);
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

  private arm(runner: ServiceRunner): Promise<void> | void {
    if (runner.want !== 'up' || this.shuttingDown) return;
    this.jobs ??= new Scheduler({
      extra: (svc) => new ServiceRunner(svc, this.launcher, this, this.opts.graceMs),
      runner: (name) => this.runners.get(name),
      shuttingDown: () => this.shuttingDown,
      changed: (r) => this.opts.stateDir?.writeRecord(r as ServiceRunner),
      timezone: this.opts.env.TZ && isTimeZone(this.opts.env.TZ) ? this.opts.env.TZ : 'UTC',
    });
    return this.jobs.arm(runner);
  }

  private startWanted(runner: ServiceRunner): void {
    if (runner.want === 'up' && !this.shuttingDown) runner.start();
  }

  private runner(svc: Service): ServiceRunner {
    return this.runners.get(svc.name)!;
  }

  // Observer: what each runner reports

  observe(event: TransitionEvent, runner: ServiceRunner): void {
    log(describeTransition(event), event.to === 'failed' ? 'error' : 'info');
    if (runner.svc.type === 'scheduled') {
      this.jobs?.observe(event.service, event, runner);
      // a run beside the job's own (concurrency: allow) shows in the job's record
      const own = this.runners.get(event.service);
      if (own) this.opts.stateDir?.writeRecord(own);
      return;
    }
    this.opts.stateDir?.writeRecord(runner);
    if (event.to === 'finished' || event.to === 'stopped') this.exitIfFinished();
  }

  failed(runner: ServiceRunner, exitCode: number): void {
    if (this.shuttingDown) return;
    // a job's failed run was said on its exit line; the next runs go on
    if (runner.svc.type === 'scheduled' && !runner.svc.essential) return;
    if (!runner.svc.essential) {
      log(`${runner.name} failed; it is not essential (essential: false), so the rest goes on`);
      this.exitIfFinished();
      return;
    }
    if ((runner.svc.type === 'oneshot-pre' || runner.svc.type === 'oneshot-post') && this.opts.oneshotFailures < 2) {
      if (this.opts.oneshotFailures === 1) log(`warning: ${runner.name} failed; S6_BEHAVIOUR_IF_STAGE2_FAILS=1, so the rest goes on`);
      this.exitIfFinished();
      return;
    }
    if (this.opts.dontTerminate) {
      this.failureKept = true;
      log(`${runner.name} failed; S6_DONT_TERMINATE_ON_ERROR is set, so the init keeps running until it is sent SIGTERM`, 'error');
      return;
    }
    this.stop(exitCode, `${runner.name} failed`);
  }

  /**
   * When the stages are done and nothing is left to run, the container's work
   * is over, unless an operator stopped a service: then the init waits for
   * them to start it again, or for a signal.
   */
  private exitIfFinished(): void {
    if (this.currentPhase !== 'running' || this.failureKept || this.opts.main) return;
    for (const r of this.runners.values()) if (r.active || r.want === 'down') return;
    this.stop(0, 'every service has finished');
  }

  // Signals to the init

  /** Forwards SIGHUP, SIGUSR1 or SIGUSR2 to every running long-run. */
  forward(signal: NodeJS.Signals): void {
    log(`forwarding ${signal} to the long-runs`);
    for (const r of this.runners.values()) if (r.svc.type === 'long-run') r.signal(signal);
  }

  /** SIGTERM or SIGINT: the first stops gracefully (after the pre-stop delay, if one is set) and exits 0; more cut it short. */
  requestStop(signal: NodeJS.Signals): void {
    this.shutdown.request(signal, this.opts.stopDelayMs);
  }

  /** Ends the run with `code`. */
  stop(code: number, why: string): void {
    void this.shutdown.run(code, why, 0);
  }
}
