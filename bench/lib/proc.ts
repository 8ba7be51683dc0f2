// Reading processes from the host's /proc: children, states, CPU and memory.
// Every reader tolerates the process vanishing between two reads.
import { readFileSync } from 'node:fs';
import { listTasks } from '../../src/pid1/children.js';

/** The task (thread) ids of a process; empty when it is gone. */
export function tasksOf(pid: number): number[] {
  return listTasks(pid).map(Number);
}

export { listChildren as childrenOf, listDescendants as descendantsOf } from '../../src/pid1/children.js';

export interface Stat {
  comm: string;
  state: string;
  ppid: number;
  utime: number; // clock ticks
  stime: number; // clock ticks
  starttime: number; // clock ticks since boot
}

/** Fields of /proc/PID/stat, parsed after the last ')' so a comm with spaces cannot shift them. */
export function statOf(pid: number): Stat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  const close = text.lastIndexOf(')');
  const comm = text.slice(text.indexOf('(') + 1, close);
  const f = text.slice(close + 2).split(' '); // f[0] is field 3 (state)
  return { comm, state: f[0], ppid: Number(f[1]), utime: Number(f[11]), stime: Number(f[12]), starttime: Number(f[19]) };
}

export function commOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'latin1').trim();
  } catch {
    return undefined;
  }
}

/** CPU time of every thread of `pid` in ns, from /proc/PID/task/TID/schedstat (precise, unlike ticks). */
export function schedNs(pid: number): number {
  let total = 0;
  for (const tid of tasksOf(pid)) {
    try {
      total += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'latin1').split(' ')[0]);
    } catch {
      // thread gone
    }
  }
  return total;
}

/** utime+stime in clock ticks (USER_HZ), what `ps` and `top` report. */
export function cpuTicks(pid: number): number | undefined {
  const s = statOf(pid);
  return s ? s.utime + s.stime : undefined;
}

export interface CpuSnap {
  ticks: number;
  ns: number;
}

/** CPU used so far by `pids` together: ticks (what `ps` shows) and ns (schedstat). */
export function cpuOf(pids: number[]): CpuSnap {
  let ticks = 0;
  let ns = 0;
  for (const pid of pids) {
    ticks += cpuTicks(pid) ?? 0;
    ns += schedNs(pid);
  }
  return { ticks, ns };
}

export interface Memory {
  rssKb: number;
  pssKb: number;
  /** pages no other process maps (Private_Clean + Private_Dirty): what this process alone costs */
  ussKb: number;
}

/** RSS, PSS and USS from /proc/PID/smaps_rollup, in kB. */
export function memoryOf(pid: number): Memory | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/smaps_rollup`, 'latin1');
  } catch {
    return undefined;
  }
  const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
  return { rssKb: field('Rss'), pssKb: field('Pss'), ussKb: field('Private_Clean') + field('Private_Dirty') };
}

/** Sums memory over several pids (a supervision tree); undefined if none could be read. */
export function memoryOfAll(pids: number[]): Memory | undefined {
  let rssKb = 0;
  let pssKb = 0;
  let ussKb = 0;
  let any = false;
  for (const pid of pids) {
    const m = memoryOf(pid);
    if (!m) continue;
    any = true;
    rssKb += m.rssKb;
    pssKb += m.pssKb;
    ussKb += m.ussKb;
  }
  return any ? { rssKb, pssKb, ussKb } : undefined;
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Blocks the thread for `ms` (fractions allowed): a cheap pause between polls of /proc. */
export function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}
