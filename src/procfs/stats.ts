// CPU and memory of each service, summed over its processes: the main
// process, its descendants, and whatever still runs in its session (a daemon
// it forked and that was re-parented to the init). pidusage (StatsSampler)
// runs only in the CLI; the init's /metrics reads /proc itself (serviceTotals).
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pageBytes, readStat, type ProcStat, type StatFiles } from './proc.js';

export interface Usage {
  /** percent of one core over the sampling window */
  cpu: number;
  /** bytes of RSS, summed */
  memory: number;
  /** how many processes were summed */
  processes: number;
}

/** Every process's parent and session: one pass over /proc; one gone meanwhile is left out. */
function processTable(files?: StatFiles): ProcStat[] {
  const table: ProcStat[] = [];
  for (const name of readdirSync('/proc')) {
    // the pids; the rest of /proc (self, sys, meminfo...) starts with a letter
    const stat = name.charCodeAt(0) <= 57 ? (files ? files.read(Number(name)) : readStat(Number(name))) : undefined;
    if (stat) table.push(stat);
  }
  files?.keepOnly(new Set(table.map((p) => p.pid)));
  return table;
}

/** The processes that belong to each main pid: itself, whatever is in its session, and their descendants. */
export function serviceProcesses(mainPids: number[], files?: StatFiles): Map<number, ProcStat[]> {
  const table = processTable(files);
  const byPid = new Map<number, ProcStat>();
  const children = new Map<number, ProcStat[]>();
  const sessions = new Map<number, ProcStat[]>();
  for (const p of table) {
    byPid.set(p.pid, p);
    push(children, p.ppid, p);
    push(sessions, p.sid, p);
  }
  const result = new Map<number, ProcStat[]>();
  for (const main of mainPids) {
    const leader = byPid.get(main);
    const seen = new Set<ProcStat>(sessions.get(main));
    if (leader) seen.add(leader);
    const queue = [...seen];
    while (queue.length) {
      for (const c of children.get(queue.pop()!.pid) ?? []) {
        if (seen.has(c)) continue;
        seen.add(c);
        queue.push(c);
      }
    }
    result.set(main, [...seen]);
  }
  return result;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
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
        const usages = await Promise.all(pids.map((p) => this.pidusage(p.pid).catch(() => undefined)));
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
  for (const [main, processes] of serviceProcesses(mainPids)) {
    let ticks = 0;
    let pages = 0;
    for (const p of processes) {
      ticks += p.ticks;
      pages += p.rssPages;
    }
    out.set(main, { cpuSeconds: ticks / TICKS_PER_SECOND, memory: pages * pageBytes() });
  }
  return out;
}
