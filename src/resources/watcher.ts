// Limits without cgroups (detect.ts found none usable): every interval, one
// pass over /proc sums each watched service's RSS and tasks over its whole
// tree (main process, descendants, its session), and a service over its
// memory or pids limit is reported once; the caller stops it. Unlike a
// cgroup this cannot refuse a fork or an allocation: it only notices one
// after the fact, up to an interval late. cpu has no fallback.
import { serviceProcesses } from '../procfs/stats.js';
import { pageBytes, StatFiles } from '../procfs/proc.js';
import type { Limits } from '../manifest/limits.js';

export interface Overrun {
  kind: 'memory' | 'pids';
  /** bytes of RSS, or tasks (threads), summed over the service's processes */
  usage: number;
  limit: number;
}

interface Watched {
  pid: number;
  limits: Limits;
  memory: number | undefined;
  /** onOverrun was called: not again until the service is watched anew */
  reported: boolean;
}

export class LimitWatcher {
  private readonly watched = new Map<string, Watched>();
  private readonly intervalMs: number;
  private timer: NodeJS.Timeout | undefined;
  /** the processes' stat files, kept open between passes while anything is watched */
  private readonly files = new StatFiles();

  constructor(
    private readonly onOverrun: (service: string, overrun: Overrun) => void,
    options: { intervalMs?: number } = {},
  ) {
    this.intervalMs = options.intervalMs ?? 1000;
    if (!(this.intervalMs >= 1)) throw new RangeError(`intervalMs must be at least 1, not ${this.intervalMs}`);
  }

  /** Starts checking `service` (main pid `pid`) against `limits`; only memory and pids are watched. */
  watch(service: string, pid: number, limits: Limits): void {
    if (limits.memory === undefined && limits.pids === undefined) {
      this.unwatch(service);
      return;
    }
    this.watched.set(service, { pid, limits, memory: undefined, reported: false });
    this.schedule();
  }

  /** Stops checking `service` (its process exited, or it was stopped); the timer goes with the last one. */
  unwatch(service: string): void {
    this.watched.delete(service);
    if (!this.watched.size) this.stopTimer();
  }

  /** The last bytes of RSS summed over the service's processes, or undefined before its first check. */
  memoryOf(service: string): number | undefined {
    return this.watched.get(service)?.memory;
  }

  close(): void {
    this.watched.clear();
    this.stopTimer();
  }

  // a timeout re-armed after each check, not an interval: a slow pass (a
  // machine of many processes) is never followed at once by another
  private schedule(): void {
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      try {
        this.check();
      } finally {
        // even past an onOverrun that threw: the other services stay watched
        if (this.watched.size) this.schedule();
      }
    }, this.intervalMs);
  }

  private stopTimer(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.files.close();
  }

  private check(): void {
    const entries = [...this.watched];
    let groups: ReturnType<typeof serviceProcesses>;
    let page: number;
    try {
      groups = serviceProcesses(entries.map(([, w]) => w.pid), this.files);
      page = pageBytes();
    } catch {
      // no /proc at all (a process gone mid-read is only left out): nothing is known this time
      return;
    }
    const overruns: Array<[string, Watched, Overrun]> = [];
    for (const [service, w] of entries) {
      let pages = 0;
      let tasks = 0;
      for (const p of groups.get(w.pid) ?? []) {
        pages += p.rssPages;
        tasks += p.threads;
      }
      w.memory = pages * page;
      const overrun = over('memory', w.memory, w.limits.memory) ?? over('pids', tasks, w.limits.pids);
      if (overrun && !w.reported) overruns.push([service, w, overrun]);
    }
    // after the pass, so a callback that unwatches or watches anew meets a consistent watcher
    for (const [service, w, overrun] of overruns) {
      if (this.watched.get(service) !== w) continue;
      w.reported = true;
      this.onOverrun(service, overrun);
    }
  }
}

function over(kind: Overrun['kind'], usage: number, limit: number | undefined): Overrun | undefined {
  return limit !== undefined && usage > limit ? { kind, usage, limit } : undefined;
}
