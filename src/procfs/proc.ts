// Reading /proc for the control side (status, metrics, the leftover sweep):
// one parser of /proc/PID/stat, and one small reused read buffer.
import { closeSync, openSync, readSync } from 'node:fs';

// /proc files report size 0, so readFileSync reads each into a fresh 64 KiB
// buffer: 300 of them per scrape of /metrics grew the init by ~1 MB a scrape.
// One small buffer, reused, reads them all.
const scratch = Buffer.alloc(8192);

/** A /proc file's text (its first 8 KiB: more than stat and status ever hold); throws when it is gone. */
export function readProc(path: string): string {
  return scratch.toString('latin1', 0, readIntoScratch(path));
}

/** Reads a /proc file's first 8 KiB into `scratch`; how many bytes. Throws when it is gone. */
function readIntoScratch(path: string): number {
  const fd = openSync(path, 'r');
  try {
    return readSync(fd, scratch, 0, scratch.length, 0);
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
  let length: number;
  try {
    length = readIntoScratch(`/proc/${pid}/stat`);
  } catch {
    return undefined;
  }
  return parseStat(pid, scratch, length);
}

const CLOSE = 0x29; // ')'
const SPACE = 0x20;
const MINUS = 0x2d;
/** Fields 4 to 24 of the line being parsed, by their number in proc(5); one array, reused. */
const numbers = new Float64Array(25);

/**
 * The fields of a /proc/PID/stat line, read from its bytes: no string per
 * field, so the watcher's pass over every process each second leaves little
 * for the collector (the name is the one string, latin1 as the kernel's bytes).
 */
export function parseStat(pid: number, bytes: Buffer, length = bytes.length): ProcStat {
  // the name is the only field that may hold ')': the last one closes it
  let close = length - 1;
  while (close >= 0 && bytes[close] !== CLOSE) close--;
  const open = bytes.indexOf(0x28); // '('
  const state = bytes.toString('latin1', close + 2, close + 3);
  numbers.fill(0);
  // ") S " then fields 4 to 24, one space after each
  let at = close + 4;
  for (let field = 4; field <= 24 && at < length; field++) {
    const negative = bytes[at] === MINUS;
    if (negative) at++;
    let n = 0;
    for (; at < length && bytes[at] >= 0x30 && bytes[at] <= 0x39; at++) n = n * 10 + (bytes[at] - 0x30);
    numbers[field] = negative ? -n : n;
    while (at < length && bytes[at] !== SPACE) at++;
    at++;
  }
  return {
    pid,
    comm: bytes.toString('latin1', open + 1, close),
    state,
    ppid: numbers[4],
    sid: numbers[6],
    ticks: numbers[14] + numbers[15] + numbers[16] + numbers[17],
    threads: numbers[20],
    start: numbers[22],
    rssPages: numbers[24],
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
      return parseStat(pid, scratch, readSync(fd, scratch, 0, scratch.length, 0));
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
