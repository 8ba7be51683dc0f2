// The ordered stop: the main command first, then every service after the
// services that start after it (a web server before its database), each
// with its stop timeout and then SIGKILL; the execLoggers' drain; what the
// services left behind (TERM, the init's grace, KILL); the last log lines.
// Every wait has a ceiling: the grace is a ceiling, not a sleep.
import { flushLog, log } from '../logs/init-log.js';
import { stdoutSink } from '../logs/index.js';
import type { Launcher } from '../launch/launcher.js';
import type { MainCommand } from '../launch/main-command.js';
import { killAll, listChildren, listDescendants, onChildEvent, reapZombies } from '../pid1/index.js';
import { longestChain } from '../manifest/order.js';
import { within } from './deadline.js';
import { count } from './describe.js';
import type { PhaseInput } from './init-phase.js';
import type { ServiceRunner } from './service.js';

// After SIGKILL, how long to wait for the kernel to finish the job before exiting regardless.
const AFTER_KILL_MS = 1000;
/** After the services are gone, how long their execLoggers get to drain what is left in their pipes. */
export const LOGGER_DRAIN_MS = 5000;

/** What the stop needs of the supervisor. */
export interface ShutdownScope {
  runners(): ServiceRunner[];
  main(): MainCommand | undefined;
  launcher: Launcher;
  /** how long a service gets after its stop signal when it sets no stopTimeout */
  graceMs: number;
  /** how long leftover processes get after SIGTERM */
  killGraceMs: number;
  /** the init's phase table; false when the input changes nothing now */
  enter(input: PhaseInput): boolean;
  /** true once a stop began (the phase is draining or later) */
  shuttingDown(): boolean;
  /** everything is down: the state dir is given up (its last records written) */
  release(): void;
  /** the last lines are out: the init exits with `code` */
  exit(code: number): void;
}

/** The services that start after a given one (its `after` names it). */
type Dependents = (r: ServiceRunner) => ServiceRunner[];

export class Shutdown {
  /** set while a signalled init waits out its pre-stop delay: ends the wait */
  private endDrain?: () => void;

  constructor(private readonly scope: ShutdownScope) {}

  /** A SIGTERM or SIGINT to the init: the first starts the stop (after `delayMs`), a second ends the delay, a third kills everything now. */
  request(signal: NodeJS.Signals, delayMs: number): void {
    // Ctrl-C on the container's terminal is for the main command, which got it
    // from the terminal already (same process group); sent to us alone, we pass it on
    const main = this.scope.main();
    if (signal === 'SIGINT' && main?.running) {
      if (!process.stdin.isTTY) main.signal('SIGINT');
      return;
    }
    if (this.endDrain) {
      log(`${signal} again: no more waiting, stopping now`);
      this.endDrain();
      return;
    }
    if (this.scope.shuttingDown()) {
      log(`${signal} again: killing everything now`);
      for (const r of this.scope.runners()) r.kill();
      killAll('SIGKILL');
      return;
    }
    void this.run(0, `received ${signal}`, delayMs);
  }

  /** Stops everything and exits with `code`; a second call while the first runs changes nothing. */
  async run(code: number, why: string, delayMs: number): Promise<void> {
    if (!this.scope.enter({ kind: 'stop', delayMs })) return;
    if (delayMs > 0) await this.drain(why, delayMs);
    const runners = this.scope.runners();
    const live = runners.filter((r) => r.active);
    log(`shutting down (${why}): ${live.length ? `stopping ${count(live.length, 'service')}, ` : ''}grace ${this.scope.graceMs} ms`);
    await this.stopMain();
    const dependents = dependentsOf(runners);
    if (!(await within(stopInOrder(runners, dependents), Date.now() + this.stopCeilingMs(runners, dependents)))) {
      for (const r of runners) r.kill();
      await within(Promise.all(runners.map((r) => r.idle())), Date.now() + AFTER_KILL_MS);
    }
    if (!(await within(this.scope.launcher.closeLoggers(), Date.now() + LOGGER_DRAIN_MS))) {
      log(`execLoggers still running ${LOGGER_DRAIN_MS} ms after their services stopped`);
    }
    await this.stopLeftovers();
    this.scope.release();
    log(`exiting with code ${code}`, code === 0 ? 'info' : 'error');
    flushLog();
    // a slow reader of stdout still gets the last lines, within bounds
    await within(stdoutSink().drained(), Date.now() + LOGGER_DRAIN_MS);
    this.scope.exit(code);
  }

  /** Already stopping, so /readyz and berth check fail and a load balancer drains the container before anything stops. */
  private async drain(why: string, delayMs: number): Promise<void> {
    log(`${why}: stopping the services in ${delayMs} ms (BERTH_PRESTOP_DELAY); until then they keep serving`);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, delayMs);
      this.endDrain = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.endDrain = undefined;
    this.scope.enter({ kind: 'drained' });
  }

  /** The main command goes first: it came last, after every service was ready. */
  private async stopMain(): Promise<void> {
    const main = this.scope.main();
    if (!main?.running) return;
    log(`main command: sending SIGTERM (pid ${main.pid})`);
    main.signal('SIGTERM');
    if (!(await within(main.exited, Date.now() + this.scope.graceMs))) {
      log(`main command: sending SIGKILL (pid ${main.pid})`);
      main.signal('SIGKILL');
      await within(main.exited, Date.now() + AFTER_KILL_MS);
    }
  }

  /** The longest an ordered stop can take: its heaviest chain of dependents, each its stop timeout and the wait after SIGKILL. */
  private stopCeilingMs(runners: ServiceRunner[], dependents: Dependents): number {
    return longestChain(runners, (r) => (r.svc.stopTimeoutMs ?? this.scope.graceMs) + AFTER_KILL_MS, dependents);
  }

  /** What the services left behind: SIGTERM, the init's grace, then SIGKILL. */
  private async stopLeftovers(): Promise<void> {
    reapZombies(); // exited leftovers are no reason to signal anyone
    const leftovers = listDescendants().length;
    if (!leftovers) return;
    const deadline = Date.now() + this.scope.killGraceMs;
    log(`stopping ${count(leftovers, 'leftover process', 'leftover processes')}: sending SIGTERM`);
    killAll('SIGTERM');
    if (!(await within(noChildren(), deadline))) {
      log(`${count(listDescendants().length, 'leftover process', 'leftover processes')} still running after the grace: sending SIGKILL`);
      killAll('SIGKILL');
      await within(noChildren(), Date.now() + AFTER_KILL_MS);
    }
  }
}

/**
 * Stops every service after the services that start after it (its
 * dependents): a web server goes before its database. Nothing restarts
 * meanwhile. Each service gets its own stop timeout, then SIGKILL.
 */
function stopInOrder(runners: ServiceRunner[], dependents: Dependents): Promise<unknown> {
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
function dependentsOf(runners: ServiceRunner[]): Dependents {
  const of = new Map<string, ServiceRunner[]>();
  for (const d of runners) {
    for (const name of d.svc.after) {
      const list = of.get(name);
      if (list) list.push(d);
      else of.set(name, [d]);
    }
  }
  return (r) => of.get(r.name) ?? [];
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
