// One soak run's shared state: the clock, the seed, the first broken
// invariant (the run stops at it), and the tallies the summary prints.

export interface Failure {
  invariant: string;
  detail: string;
  /** ms after the init started */
  at: number;
}

export class Soak {
  readonly t0 = Date.now();
  failure?: Failure;
  /** actions the driver did, by kind ("kill-main", "restart: exit 0", …) */
  readonly actions = new Map<string, number>();
  /** things worth a line in the summary that are not actions (mismatches that a re-check cleared, followers dropped, …) */
  readonly notes = new Map<string, number>();
  /** how long commands took, by command */
  readonly timings = new Map<string, { n: number; totalMs: number; maxMs: number }>();
  private readonly onFail: Array<() => void> = [];

  constructor(readonly seed: number) {}

  elapsed(): number {
    return Date.now() - this.t0;
  }

  get failed(): boolean {
    return this.failure !== undefined;
  }

  /** Records the first broken invariant; later ones are left out (they usually follow from it). */
  fail(invariant: string, detail: string): void {
    if (this.failure) return;
    this.failure = { invariant, detail, at: this.elapsed() };
    for (const fn of this.onFail) fn();
  }

  whenFailed(fn: () => void): void {
    this.onFail.push(fn);
  }

  /** The driver's last actions, for a failure report. */
  readonly history: string[] = [];

  /** Counts an action of `kind` and keeps a line of it (`detail`: what it acted on, how it went). */
  did(kind: string, detail = ''): void {
    this.count(kind);
    this.log(`${kind}${detail ? ` (${detail})` : ''}`);
  }

  /** Keeps a line for the failure report, with the time. */
  log(line: string): void {
    this.history.push(`${clock(this.elapsed())} ${line}`);
    if (this.history.length > 30) this.history.shift();
  }

  count(kind: string, map = this.actions): void {
    map.set(kind, (map.get(kind) ?? 0) + 1);
  }

  note(kind: string): void {
    this.count(kind, this.notes);
  }

  time(what: string, ms: number): void {
    const t = this.timings.get(what) ?? { n: 0, totalMs: 0, maxMs: 0 };
    t.n++;
    t.totalMs += ms;
    t.maxMs = Math.max(t.maxMs, ms);
    this.timings.set(what, t);
  }
}

/** "+12:34.5" */
export function clock(ms: number): string {
  const s = ms / 1000;
  return `+${Math.floor(s / 60)}:${(s % 60).toFixed(1).padStart(4, '0')}`;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
