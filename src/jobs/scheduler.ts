// Runs scheduled jobs: one timer on the wall clock for the soonest due run
// of all of them, re-armed each time it fires. A run that is due goes
// through the job's runner like any start (the lifecycle table decides); this
// file decides only whether it starts now, waits for what it names in
// `after`, or is skipped (concurrency, startingDeadline), and keeps the
// counts that status, metrics and health report.
import type { JobRun, StatusRecord } from '../control/state-dir.js';
import { log, span } from '../logs/init-log.js';
import type { Service } from '../manifest/index.js';
import { WallTimer } from '../native/wall-timer.js';
import { loadCron, nextRunOf, type NextRun } from './next-run.js';

/**
 * After a long idle the timer first fires this long before a due run, and
 * then at its time: the first wake brings the CPU and the init's code back
 * (a run due 20 s after the last one started 7 ms late without it, 4.5 ms
 * with it; one due a second after the last, 4.9 ms), and makes the runs'
 * processes (launch, program, environment), so at their time only the pipes
 * and the spawn are left. One more wake per due time, none in between.
 */
const WARM_MS = 30;

/** What the scheduler needs of a job's runner (the supervisor's ServiceRunner). */
export interface JobRunner {
  readonly svc: Service;
  readonly state: string;
  readonly want: string;
  readonly pid: number | null;
  readonly lastExit: { code: number | null; signal: string | null } | null;
  recordExtras?: () => Partial<StatusRecord>;
  start(): boolean;
  /** makes its next process ahead of a run due soon */
  prepare(): void;
  schedule(): boolean;
  replace(): boolean;
  until(done: (r: JobRunner) => boolean): Promise<void>;
  idle(): Promise<void>;
}

/** What a runner reported: the part of a transition the counts are made from. */
export interface JobEvent {
  from: string;
  to: string;
  exit: { code: number | null; signal: string | null; reason?: string; cause?: string } | null;
  at: Date;
}

export interface SchedulerScope {
  /** a new runner for one more run beside the running one (concurrency: allow); not in the supervisor's set */
  extra(svc: Service): JobRunner;
  /** another service's runner, for `after` */
  runner(name: string): JobRunner | undefined;
  shuttingDown(): boolean;
  /** the job's record changed without a transition (a skipped run) */
  changed(runner: JobRunner): void;
  /** the init's TZ when it names a zone, else UTC */
  timezone: string;
}

/** A run that `berth run` started, once it ended; or why it did not start. */
export type RunResult = { ok: true; code: number | null; signal: string | null } | { ok: false; message: string };

interface Entry {
  runner: JobRunner;
  next: NextRun;
  /** ms since the epoch; null when the schedule has no next time */
  dueAt: number | null;
  /** runs beside the job's own (concurrency: allow) */
  extras: Set<JobRunner>;
  /** a due run waiting for what the job names in `after` */
  waiting?: Promise<boolean>;
  runs: number;
  lastRun: JobRun | null;
  lastSuccess: number | null;
  consecutiveFailures: number;
  failures: number;
  successes: number;
  skipped: number;
}

export class Scheduler {
  private readonly jobs = new Map<string, Entry>();
  /** runs that ended, per runner: `berth run` waits for its own (one map for every job: a map each cost a job ~1 kB) */
  private readonly ended = new WeakMap<JobRunner, number>();
  /** when each runner's run under way started */
  private readonly started = new WeakMap<JobRunner, string>();
  /**
   * Fires when the wall clock reads the soonest due time, to the
   * microsecond, and when the clock is set (an NTP step, a laptop that
   * slept): no periodic wake is needed to notice a jump.
   */
  private readonly timer = new WallTimer((clockSet) => this.fire(clockSet));
  private rearmSoon = false;
  /** the wall clock when the timer last fired: a later reading before it means the clock was set back */
  private lastFired = Date.now();

  constructor(private readonly scope: SchedulerScope) {}

  /** From now on the job runs on its schedule. */
  async arm(runner: JobRunner): Promise<void> {
    const job = runner.svc.job!;
    const Cron = await loadCron();
    const now = Date.now();
    const next = nextRunOf(Cron, job.schedule, job.timezone ?? this.scope.timezone, now);
    const entry: Entry = {
      runner,
      next,
      dueAt: next.after(now),
      extras: new Set(),
      runs: 0,
      lastRun: null,
      lastSuccess: null,
      consecutiveFailures: 0,
      failures: 0,
      successes: 0,
      skipped: 0,
    };
    this.jobs.set(runner.svc.name, entry);
    runner.recordExtras = () => this.fields(entry);
    runner.schedule();
    this.rearmLater();
  }

  /** A reload removed or replaced the job: it is no longer scheduled. */
  forget(name: string): void {
    this.jobs.delete(name);
  }

  /** Runners of runs started beside a job's running one, for the shutdown to stop. */
  extras(): JobRunner[] {
    return [...this.jobs.values()].flatMap((e) => [...e.extras]);
  }

  /** The runs of one job started beside its own runner, still going: a stop or a reload of the job stops them too. */
  extrasOf(name: string): JobRunner[] {
    return [...(this.jobs.get(name)?.extras ?? [])];
  }

  isJob(runner: JobRunner): boolean {
    return this.jobs.get(runner.svc.name)?.runner === runner;
  }

  /** Counts a run's start and end from the transitions of the job's runners. */
  observe(name: string, event: JobEvent, runner: JobRunner): void {
    const e = this.jobs.get(name);
    if (!e) return;
    if (event.to === 'running') {
      e.runs++;
      this.started.set(runner, event.at.toISOString());
      e.lastRun = { start: event.at.toISOString(), durationMs: null, code: null, signal: null };
      return;
    }
    if (!event.exit) return;
    this.ended.set(runner, (this.ended.get(runner) ?? 0) + 1);
    const start = event.from === 'running' || event.from === 'stopping' ? this.started.get(runner) : undefined;
    if (start === undefined) e.runs++; // it never ran: a failure to start is a run that failed
    e.lastRun = {
      start: start ?? event.at.toISOString(),
      durationMs: start === undefined ? 0 : event.at.getTime() - Date.parse(start),
      code: event.exit.code,
      signal: event.exit.signal,
    };
    if (event.to === 'stopped') return; // stopped by an operator or the shutdown: neither a success nor a failure
    const ok = event.exit.reason === undefined && event.exit.cause === undefined && event.exit.code !== null && runner.svc.successExitCodes.includes(event.exit.code);
    if (ok) {
      e.successes++;
      e.consecutiveFailures = 0;
      e.lastSuccess = event.at.getTime();
    } else {
      e.failures++;
      e.consecutiveFailures++;
    }
  }

  /** `berth run JOB`: a run now, under the job's concurrency rule; resolves once it ended. */
  async runNow(name: string): Promise<RunResult> {
    const e = this.jobs.get(name);
    if (!e) return { ok: false, message: 'not a scheduled job' };
    const started = await this.launch(e);
    if (typeof started === 'string') return { ok: false, message: started };
    const runner = started;
    const before = this.ended.get(runner) ?? 0;
    runner.start();
    await runner.until((r) => (this.ended.get(r) ?? 0) > before);
    return { ok: true, code: runner.lastExit?.code ?? null, signal: runner.lastExit?.signal ?? null };
  }

  /** The shutdown began: nothing more is started. */
  stop(): void {
    this.timer.close();
  }

  private fields(e: Entry): Partial<StatusRecord> {
    const threshold = e.runner.svc.job!.failureThreshold;
    const beside = e.runner.state !== 'running' ? [...e.extras].find((x) => x.state === 'running') : undefined;
    return {
      schedule: e.runner.svc.job!.scheduleText,
      nextRun: e.runner.want === 'down' || e.dueAt === null ? null : new Date(e.dueAt).toISOString(),
      lastRun: e.lastRun,
      runs: e.runs,
      consecutiveFailures: e.consecutiveFailures,
      skipped: e.skipped,
      succeeded: e.successes,
      failed: e.failures,
      lastSuccess: e.lastSuccess === null ? null : new Date(e.lastSuccess).toISOString(),
      unhealthy: threshold !== undefined && e.consecutiveFailures >= threshold,
      ...(beside ? { state: 'running', pid: beside.pid } : {}),
    };
  }

  /** Arming a thousand jobs re-arms the timer once, not a thousand times. */
  private rearmLater(): void {
    if (this.rearmSoon) return;
    this.rearmSoon = true;
    setImmediate(() => {
      this.rearmSoon = false;
      this.rearm();
    });
  }

  private rearm(): void {
    if (this.scope.shuttingDown()) return;
    let soonest = Infinity;
    for (const e of this.jobs.values()) if (e.dueAt !== null && e.dueAt < soonest) soonest = e.dueAt;
    if (soonest === Infinity) return this.timer.cancel();
    if (soonest - Date.now() > WARM_MS) return this.timer.at(soonest - WARM_MS);
    this.timer.at(soonest);
    // the last wake before these runs (the early one): a run that would not start at once is not made ahead
    for (const e of this.jobs.values()) if (e.dueAt === soonest && e.runner.want === 'up' && !busy(e.runner)) e.runner.prepare();
  }

  /**
   * Every job due by the wall clock now: one run each, however late (never a burst of missed runs); the next time
   * counts from now. `clockSet`: the clock was set while the timer was armed.
   */
  private fire(clockSet: boolean): void {
    if (this.scope.shuttingDown()) return;
    const now = Date.now();
    // (the second test sees a clock set back where the kernel says nothing of it: a faked clock)
    const moved = clockSet || now < this.lastFired - 1000;
    this.lastFired = now;
    const due: Array<[Entry, number]> = [];
    for (const e of this.jobs.values()) {
      // the clock moved: a cron job keeps its planned run, so no time it already ran runs twice after a set back;
      // `@every` is a period, not a time of day: it goes on a period from now (a run already due stays due)
      if (moved && e.dueAt !== null && e.runner.svc.job!.schedule.kind === 'every') e.dueAt = Math.min(e.dueAt, e.next.after(now) ?? e.dueAt);
      if (e.dueAt !== null && e.dueAt <= now) due.push([e, e.dueAt]);
    }
    // the runs start before the next times are worked out: a run waits for no calendar arithmetic
    for (const [e, dueAt] of due) this.due(e, dueAt, now);
    for (const [e] of due) e.dueAt = e.next.after(now);
    this.rearm();
  }

  private due(e: Entry, dueAt: number, now: number): void {
    if (e.runner.want === 'down') return; // stopped by an operator: no runs until it is started
    const deadlineMs = e.runner.svc.job!.startingDeadlineMs;
    const late = now - dueAt;
    if (deadlineMs !== undefined && late > deadlineMs) {
      return this.skip(e, dueAt, `it could start only ${span(late)} late, past its startingDeadline (${span(deadlineMs)})`);
    }
    if (e.waiting) return this.skip(e, dueAt, 'the run before it still waits for what it starts after');
    const deps = e.runner.svc.after.map((n) => this.scope.runner(n)).filter((d): d is JobRunner => d?.svc.type === 'long-run' && d.state !== 'up');
    if (deps.length) void this.afterDependencies(e, dueAt, deadlineMs, deps);
    else this.begin(e, dueAt);
  }

  /** The run, once `deps` are ready; skipped when the job's deadline passes first. */
  private async afterDependencies(e: Entry, dueAt: number, deadlineMs: number | undefined, deps: JobRunner[]): Promise<void> {
    const ready = Promise.all(deps.map((d) => d.until((x) => x.state === 'up'))).then(() => true);
    let deadline: NodeJS.Timeout | undefined;
    const wait = deadlineMs === undefined ? ready : Promise.race([ready, new Promise<boolean>((r) => (deadline = setTimeout(r, Math.max(0, dueAt + deadlineMs - Date.now()), false)))]);
    e.waiting = wait;
    const ok = await wait;
    clearTimeout(deadline); // ready first: its deadline's timer goes, not left to fire for nothing
    e.waiting = undefined;
    if (!ok) this.skip(e, dueAt, `${deps.filter((d) => d.state !== 'up').map((d) => `${d.svc.name} (${d.state})`).join(', ')} not ready within its startingDeadline (${span(deadlineMs!)})`);
    else if (!this.scope.shuttingDown() && e.runner.want === 'up') this.begin(e, dueAt);
  }

  /** The run starts at once when the job's runner is free (no promise between the timer and the spawn); else as its concurrency says. */
  private begin(e: Entry, dueAt: number): void {
    if (!busy(e.runner)) {
      e.runner.start();
      return;
    }
    void this.launch(e).then((started) => (typeof started === 'string' ? this.skip(e, dueAt, started) : started.start()));
  }

  /** The runner that takes the run (after a replaced run is gone), or why none does. */
  private async launch(e: Entry): Promise<JobRunner | string> {
    if (!busy(e.runner)) return e.runner;
    const job = e.runner.svc.job!;
    if (job.concurrency === 'forbid') return `the last run is still going (pid ${e.runner.pid}; concurrency: forbid)`;
    if (job.concurrency === 'replace') {
      e.runner.replace();
      await e.runner.until((r) => !busy(r));
      return e.runner;
    }
    const extra = this.scope.extra(e.runner.svc);
    e.extras.add(extra);
    void extra.until((x) => (this.ended.get(x) ?? 0) > 0).then(() => e.extras.delete(extra));
    return extra;
  }

  private skip(e: Entry, dueAt: number, why: string): void {
    e.skipped++;
    log(`${e.runner.svc.name}: skipped the run due at ${new Date(dueAt).toISOString()}: ${why}`);
    this.scope.changed(e.runner);
  }
}

function busy(runner: JobRunner): boolean {
  return runner.state === 'running' || runner.state === 'stopping';
}
