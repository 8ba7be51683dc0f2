// CPU and memory of each service, summed over its processes: the main
// process, its descendants, and whatever still runs in its session (a daemon
// it forked and that was re-parented to the init). pidusage (StatsSampler)
// runs only in the CLI; the init's /metrics reads /proc itself (serviceTotals).
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { readProc, readStat, type ProcStat } from './proc.js';

export interface Usage {
  /** percent of one core over the sampling window */
  cpu: number;
  /** bytes of RSS, summed */
  memory: number;
  /** how many processes were summed */
  processes: number;
}

/** Every process's parent and session. */
function processTable(): ProcStat[] {
  return readdirSync('/proc').flatMap((name) => (/^\d+$/.test(name) ? (readStat(Number(name)) ?? []) : []));
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

/** CPU ticks and VmRSS of one process; zero once it is gone. */
function processUsage(pid: number): { ticks: number; rss: number } {
  try {
    const ticks = readStat(pid)?.ticks ?? 0;
    const rssKb = /^VmRSS:\s+(\d+) kB/m.exec(readProc(`/proc/${pid}/status`))?.[1];
    return { ticks, rss: Number(rssKb ?? 0) * 1024 };
  } catch {
    return { ticks: 0, rss: 0 };
  }
}
