// CPU and memory of each service, summed over its processes: the main
// process, its descendants, and whatever still runs in its session (a daemon
// it forked and that was re-parented to the init). Read by the CLI, never by
// the init, so pidusage costs PID 1 nothing.
import { closeSync, openSync, readdirSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';

export interface Usage {
  /** percent of one core over the sampling window */
  cpu: number;
  /** bytes of RSS, summed */
  memory: number;
  /** how many processes were summed */
  processes: number;
}

// /proc files report size 0, so readFileSync reads each into a fresh 64 KiB
// buffer: 300 of them per scrape of /metrics grew the init by ~1 MB a scrape.
// One small buffer, reused, reads them all.
const scratch = Buffer.alloc(8192);

/** A /proc file's text (its first 8 KiB: more than stat and status ever hold). */
function readProc(path: string): string {
  const fd = openSync(path, 'r');
  try {
    return scratch.toString('latin1', 0, readSync(fd, scratch, 0, scratch.length, 0));
  } finally {
    closeSync(fd);
  }
}

interface ProcInfo {
  pid: number;
  ppid: number;
  sid: number;
}

/** Every process's parent and session, from /proc/PID/stat (fields after the last ')': state ppid pgrp session). */
function processTable(): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readProc(`/proc/${name}/stat`);
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.push({ pid: Number(name), ppid: Number(fields[1]), sid: Number(fields[3]) });
    } catch {
      // gone while we looked
    }
  }
  return out;
}

/** The processes that belong to each main pid. */
export function serviceProcesses(mainPids: number[]): Map<number, number[]> {
  const table = processTable();
  const children = new Map<number, number[]>();
  for (const p of table) {
    const siblings = children.get(p.ppid);
    if (siblings) siblings.push(p.pid);
    else children.set(p.ppid, [p.pid]);
  }
  const result = new Map<number, number[]>();
  for (const main of mainPids) {
    const seen = new Set<number>([main]);
    const queue = [main];
    while (queue.length) {
      for (const c of children.get(queue.pop()!) ?? []) {
        if (seen.has(c)) continue;
        seen.add(c);
        queue.push(c);
      }
    }
    for (const p of table) if (p.sid === main) seen.add(p.pid);
    result.set(main, [...seen]);
  }
  return result;
}

type Pidusage = ((pid: number) => Promise<{ cpu: number; memory: number }>) & { clear(): void };

/**
 * Samples every service twice, `windowMs` apart, so CPU is the share of one
 * core over that window, not an average since the process started.
 */
export class StatsSampler {
  private readonly pidusage = createRequire(import.meta.url)('pidusage') as Pidusage;

  async sample(mainPids: number[]): Promise<Map<number, Usage>> {
    const groups = serviceProcesses(mainPids);
    const out = new Map<number, Usage>();
    await Promise.all(
      [...groups].map(async ([main, pids]) => {
        const usages = await Promise.all(pids.map((pid) => this.pidusage(pid).catch(() => undefined)));
        const alive = usages.filter((u) => u !== undefined);
        out.set(main, {
          cpu: alive.reduce((sum, u) => sum + u.cpu, 0),
          memory: alive.reduce((sum, u) => sum + u.memory, 0),
          processes: alive.length,
        });
      }),
    );
    return out;
  }

  /** Closes the /proc files pidusage keeps open between samples. */
  close(): void {
    this.pidusage.clear();
  }
}

/** What /metrics reports per service, read straight from /proc (no pidusage in the init). */
export interface Totals {
  /** user + system seconds of the service's processes, with what their waited-for children used */
  cpuSeconds: number;
  /** RSS bytes summed */
  memory: number;
}

// USER_HZ: 100 on every Linux the kernel ABI allows user space to see
const TICKS_PER_SECOND = 100;

export function serviceTotals(mainPids: number[]): Map<number, Totals> {
  const out = new Map<number, Totals>();
  for (const [main, pids] of serviceProcesses(mainPids)) {
    let ticks = 0;
    let memory = 0;
    for (const pid of pids) {
      const usage = processUsage(pid);
      ticks += usage.ticks;
      memory += usage.rss;
    }
    out.set(main, { cpuSeconds: ticks / TICKS_PER_SECOND, memory });
  }
  return out;
}

/** utime + stime + cutime + cstime (fields 14-17) and VmRSS of one process; zero once it is gone. */
function processUsage(pid: number): { ticks: number; rss: number } {
  try {
    const stat = readProc(`/proc/${pid}/stat`);
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    const rssKb = /^VmRSS:\s+(\d+) kB/m.exec(readProc(`/proc/${pid}/status`))?.[1];
    return { ticks, rss: Number(rssKb ?? 0) * 1024 };
  } catch {
    return { ticks: 0, rss: 0 };
  }
}
