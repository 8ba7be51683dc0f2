// The invariants watched the whole time, from outside the init: no zombie
// in its namespace outlives 1 s, its fds and RSS stay under a bound after the
// warm-up, and every service's `berth status --json` row agrees with /proc.
import { berthCli } from './launch.js';
import { cmdlineOf, identity, type Proc, type ProcView } from './procview.js';
import { sleep, type Soak } from './soak.js';

const ZOMBIE_EVERY_MS = 250;
const ZOMBIE_MAX_MS = 1000;
const RESOURCES_EVERY_MS = 1000;
const STATUS_EVERY_MS = 2000;
const RECHECK_AFTER_MS = 1500;
/** fds the init may hold beyond its warm-up's maximum: control clients, followers, probes, HTTP, extra services' pipes */
export const FD_SLACK = 48;
/** RSS bound: the warm-up's maximum times this, plus RSS_SLACK_KB */
export const RSS_FACTOR = 1.5;
export const RSS_SLACK_KB = 32 * 1024;
const NO_PID = new Set(['down', 'backoff', 'stopped', 'failed', 'finished']);
const LIVE = new Set(['up', 'starting']);

export interface StatusRow {
  name: string;
  type: string;
  state: string;
  pid: number | null;
  restarts: number;
}

interface Mismatch {
  key: string;
  text: string;
}

export class Monitor {
  /** the init's descendants at the last scan */
  processes: Proc[] = [];
  maxZombieAgeMs = 0;
  /** what the oldest zombie was */
  oldestZombie = '';
  zombiesSeen = 0;
  maxFds = 0;
  maxRssKb = 0;
  baseFds = 0;
  baseRssKb = 0;
  statusChecks = 0;
  lastStatus: StatusRow[] = [];
  private readonly zombies = new Map<string, number>();
  private running = true;
  private readonly loops: Array<Promise<void>> = [];

  constructor(
    private readonly soak: Soak,
    private readonly view: ProcView,
    private readonly stateDir: string,
    /** ms after soak.t0 at which the warm-up ends and the bounds apply */
    private readonly warmupEnd: number,
  ) {}

  get fdBound(): number {
    return this.baseFds + FD_SLACK;
  }

  get rssBoundKb(): number {
    return Math.round(this.baseRssKb * RSS_FACTOR + RSS_SLACK_KB);
  }

  start(): void {
    this.loops.push(this.every(ZOMBIE_EVERY_MS, () => this.scan()));
    this.loops.push(this.every(RESOURCES_EVERY_MS, () => this.resources()));
    this.loops.push(this.every(STATUS_EVERY_MS, () => this.status()));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  /** Scans the processes now (also called by the driver and the shutdown). */
  scan(): void {
    this.processes = this.view.processes();
    const now = Date.now();
    const byPid = new Map(this.processes.map((p) => [p.pid, p]));
    const current = new Set<string>();
    for (const p of this.processes) {
      if (p.state !== 'Z') continue;
      const id = identity(p);
      const parent = byPid.get(p.ppid);
      // a parent the driver holds stopped cannot reap: its zombie is not the init's doing
      if (parent && (parent.state === 'T' || parent.state === 't')) continue;
      current.add(id);
      const first = this.zombies.get(id);
      if (first === undefined) {
        this.zombies.set(id, now);
        this.zombiesSeen++;
        continue;
      }
      const age = now - first;
      const who = p.ppid === this.view.initPid ? 'the init' : parent ? `${parent.comm} (pid ${parent.pid} on the host, ${parent.nspid} in the init's namespace, state ${parent.state})` : `pid ${p.ppid}`;
      if (age > this.maxZombieAgeMs) {
        this.maxZombieAgeMs = age;
        this.oldestZombie = `${p.comm}, child of ${who}`;
      }
      if (age > ZOMBIE_MAX_MS) this.soak.fail('no zombie older than 1 s', `${p.comm} (pid ${p.pid} on the host, ${p.nspid} in the init's namespace) has been a zombie for ${age} ms; its parent is ${who}`);
    }
    for (const id of this.zombies.keys()) if (!current.has(id)) this.zombies.delete(id);
  }

  private resources(): void {
    const fds = this.view.fdCount();
    const rss = this.view.rssKb();
    if (fds === undefined || rss === undefined) return; // gone: the run notices the exit
    this.maxFds = Math.max(this.maxFds, fds);
    this.maxRssKb = Math.max(this.maxRssKb, rss);
    if (this.soak.elapsed() < this.warmupEnd) {
      this.baseFds = Math.max(this.baseFds, fds);
      this.baseRssKb = Math.max(this.baseRssKb, rss);
      return;
    }
    if (fds > this.fdBound) this.soak.fail(`PID 1's fds ≤ warm-up max + ${FD_SLACK}`, `the init holds ${fds} fds; its warm-up maximum was ${this.baseFds}, so the bound is ${this.fdBound}`);
    if (rss > this.rssBoundKb) this.soak.fail(`PID 1's RSS ≤ warm-up max × ${RSS_FACTOR} + ${RSS_SLACK_KB / 1024} MiB`, `the init's RSS is ${mib(rss)}; its warm-up maximum was ${mib(this.baseRssKb)}, so the bound is ${mib(this.rssBoundKb)}`);
  }

  /** `berth status --json`, checked against /proc; a disagreement fails only if a re-check a moment later still shows it. */
  private async status(): Promise<void> {
    const first = await this.statusRows();
    if (!first) return;
    const found = this.mismatches(first);
    if (!found.length) return;
    await sleep(RECHECK_AFTER_MS);
    if (!this.running || this.soak.failed) return;
    const again = await this.statusRows();
    if (!again) return;
    const still = this.mismatches(again).filter((m) => found.some((f) => f.key === m.key));
    if (still.length) this.soak.fail('berth status agrees with /proc', `${still.map((m) => m.text).join('; ')} (seen twice, ${RECHECK_AFTER_MS} ms apart)`);
    else this.soak.note('status disagreed with /proc, then agreed on the re-check (a transition)');
  }

  private async statusRows(): Promise<StatusRow[] | undefined> {
    const r = await berthCli(['status', '--json', '--state-dir', this.stateDir], 30_000);
    if (!this.running || this.soak.failed) return undefined;
    this.soak.time('berth status --json', r.ms);
    if (r.timedOut || r.code !== 0) {
      this.soak.fail('berth status answers', r.timedOut ? 'berth status --json did not answer within 30 s' : `berth status --json exited ${r.code ?? r.signal}: ${r.stderr.trim()}`);
      return undefined;
    }
    this.statusChecks++;
    this.scan();
    this.lastStatus = JSON.parse(r.stdout) as StatusRow[];
    return this.lastStatus;
  }

  private mismatches(rows: StatusRow[]): Mismatch[] {
    const out: Mismatch[] = [];
    const byNsPid = new Map(this.processes.map((p) => [p.nspid, p]));
    for (const row of rows) {
      const say = (what: string): void => {
        out.push({ key: `${row.name} ${row.state} ${row.pid} ${what}`, text: `${row.name} is ${row.state} with pid ${row.pid}: ${what}` });
      };
      if (LIVE.has(row.state)) {
        if (row.pid === null) {
          say('a running state needs a pid');
          continue;
        }
        const p = byNsPid.get(row.pid);
        if (!p) say('no such process among the init\'s');
        else if (p.state === 'Z' || p.state === 'X') say(`the process is a zombie (${p.comm})`);
        else if (p.ppid !== this.view.initPid) say(`the process (${p.comm}) is not the init's child`);
      } else if (NO_PID.has(row.state) && row.pid !== null) say('this state has no process');
    }
    // the other way round: a child of the init that no row names (orphans are `sleep`s here; every other child is a service's main process)
    const named = new Set(rows.map((r) => r.pid));
    for (const p of this.processes) {
      if (p.ppid !== this.view.initPid || p.comm === 'sleep' || p.state === 'Z' || named.has(p.nspid)) continue;
      out.push({ key: `unnamed ${identity(p)}`, text: `the init's child ${p.nspid} (${cmdlineOf(p.pid) || p.comm}) is no service's process` });
    }
    return out;
  }

  private async every(ms: number, fn: () => void | Promise<void>): Promise<void> {
    while (this.running && !this.soak.failed) {
      await fn();
      await sleep(ms);
    }
  }
}

export function mib(kb: number): string {
  return `${(kb / 1024).toFixed(1)} MiB`;
}
