// Reading /proc for the control side (status, metrics, the leftover sweep):
// one parser of /proc/PID/stat, and one small reused read buffer.
import { closeSync, openSync, readSync } from 'node:fs';

// /proc files report size 0, so readFileSync reads each into a fresh 64 KiB
// buffer: 300 of them per scrape of /metrics grew the init by ~1 MB a scrape.
// One small buffer, reused, reads them all.
const scratch = Buffer.alloc(8192);

/** A /proc file's text (its first 8 KiB: more than stat and status ever hold); throws when it is gone. */
export function readProc(path: string): string {
  const fd = openSync(path, 'r');
  try {
    return scratch.toString('latin1', 0, readSync(fd, scratch, 0, scratch.length, 0));
  } finally {
    closeSync(fd);
  }
}

export interface ProcStat {
  pid: number;
  /** the command name, as in ps's COMM */
  comm: string;
  state: string;
  ppid: number;
  sid: number;
  /** utime + stime + cutime + cstime, in clock ticks */
  ticks: number;
  /** threads (tasks): what the kernel's pids controller counts */
  threads: number;
  /** start time, clock ticks after boot */
  start: number;
  /** resident set size in pages (pageBytes() each) */
  rssPages: number;
}

/** Fields of /proc/PID/stat, or undefined when it is gone; the name may hold spaces and ')'. */
export function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readProc(`/proc/${pid}/stat`);
  } catch {
    return undefined;
  }
  return parseStat(pid, text);
}

/** The fields of a /proc/PID/stat line. */
export function parseStat(pid: number, text: string): ProcStat {
  // the name is the only field that may hold ')': the last one closes it
  const close = text.lastIndexOf(')');
  // fields 3 to 24 of 52: state (3) is [0], ppid (4) [1], session (6) [3], utime..cstime (14-17) [11-14],
  // num_threads (20) [17], starttime (22) [19], rss (24) [21]
  const f = text.slice(close + 2).split(' ', 22);
  return {
    pid,
    comm: text.slice(text.indexOf('(') + 1, close),
    state: f[0],
    ppid: Number(f[1]),
    sid: Number(f[3]),
    ticks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]),
    threads: Number(f[17]),
    start: Number(f[19]),
    rssPages: Number(f[21]),
  };
}

/**
 * Files kept open by a StatFiles at most: past it the rest are opened and closed at each read, as readStat does. Each
 * costs ~4 KiB of kernel memory and a slot in the fd table the start burst sized.
 */
const MAX_KEPT = 1024;

/**
 * /proc/PID/stat of the same processes again and again (the limit watcher's
 * pass each second): each file stays open and is read again from its start,
 * one pread where readStat makes three calls (open, read, close). A read
 * that fails means the process is gone: that file is closed, and a new
 * process that has its pid now is read from a file of its own at once.
 */
export class StatFiles {
  private readonly kept = new Map<number, number>();

  read(pid: number): ProcStat | undefined {
    const kept = this.kept.get(pid);
    if (kept !== undefined) {
      const stat = this.reread(pid, kept);
      if (stat) return stat;
    }
    if (this.kept.size >= MAX_KEPT) return readStat(pid);
    let fd: number;
    try {
      fd = openSync(`/proc/${pid}/stat`, 'r');
    } catch {
      return undefined;
    }
    this.kept.set(pid, fd);
    return this.reread(pid, fd);
  }

  /** Closes the files of the processes not in `alive` (gone since the last pass). */
  keepOnly(alive: Set<number>): void {
    for (const pid of this.kept.keys()) if (!alive.has(pid)) this.forget(pid);
  }

  close(): void {
    for (const pid of [...this.kept.keys()]) this.forget(pid);
  }

  /** The stat in the kept file `fd`; undefined, the file closed, once its process is gone. */
  private reread(pid: number, fd: number): ProcStat | undefined {
    try {
      return parseStat(pid, scratch.toString('latin1', 0, readSync(fd, scratch, 0, scratch.length, 0)));
    } catch {
      this.forget(pid);
      return undefined;
    }
  }

  private forget(pid: number): void {
    closeSync(this.kept.get(pid)!);
    this.kept.delete(pid);
  }
}

let pageSize: number | undefined;

/** Bytes in a page (4096 on x86-64; 16 or 64 KiB on some arm64 kernels), read once. */
export function pageBytes(): number {
  // the first mapping's line: a normal one (the executable), so the base page size
  pageSize ??= Number(/^KernelPageSize:\s+(\d+) kB/m.exec(readProc('/proc/self/smaps'))?.[1] ?? 4) * 1024;
  return pageSize;
}
