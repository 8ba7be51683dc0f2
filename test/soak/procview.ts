// The init's processes as the host's /proc shows them: its descendants
// (in a PID namespace of its own they are every process of it; as a plain
// process, what it started and the orphans it adopted as a subreaper),
// their pids inside the init's namespace, and the init's fds and RSS.
import { readdirSync, readlinkSync } from 'node:fs';
import { listDescendants } from '../../src/pid1/children.js';
import { readProc, readStat, type ProcStat } from '../../src/procfs/proc.js';

export interface Proc extends ProcStat {
  /** its pid as the init sees it (as PID 1, inside the namespace) */
  nspid: number;
}

/** A process for sure: a pid is reused, a pid and a start time are not. */
export function identity(p: { pid: number; start: number }): string {
  return `${p.pid}@${p.start}`;
}

export class ProcView {
  private readonly nspids = new Map<string, number>();

  constructor(
    /** the init's pid on the host */
    readonly initPid: number,
  ) {}

  /** Every descendant of the init now (zombies included), parents before children. */
  processes(): Proc[] {
    const out: Proc[] = [];
    const seen = new Set<string>();
    for (const pid of listDescendants(this.initPid)) {
      const stat = readStat(pid);
      if (!stat) continue; // gone since the listing
      const id = identity(stat);
      seen.add(id);
      let nspid = this.nspids.get(id);
      if (nspid === undefined) {
        nspid = nsPidOf(pid);
        if (nspid === undefined) continue;
        this.nspids.set(id, nspid);
      }
      out.push({ ...stat, nspid });
    }
    for (const id of this.nspids.keys()) if (!seen.has(id)) this.nspids.delete(id);
    return out;
  }

  /** How many fds the init holds open; undefined once it is gone. */
  fdCount(): number | undefined {
    try {
      return readdirSync(`/proc/${this.initPid}/fd`).length;
    } catch {
      return undefined;
    }
  }

  /** The init's resident memory in kB; undefined once it is gone. */
  rssKb(): number | undefined {
    try {
      const m = /^VmRSS:\s+(\d+) kB/m.exec(readProc(`/proc/${this.initPid}/status`));
      return m ? Number(m[1]) : undefined;
    } catch {
      return undefined;
    }
  }

  /** The init's PID namespace ("pid:[4026532…]"). */
  pidNamespace(): string {
    return readlinkSync(`/proc/${this.initPid}/ns/pid`);
  }
}

/** The last pid of /proc/PID/status's NSpid line: the pid in the process's own namespace. */
function nsPidOf(pid: number): number | undefined {
  try {
    const m = /^NSpid:\s+([\d\s]+)$/m.exec(readProc(`/proc/${pid}/status`));
    return m ? Number(m[1].trim().split(/\s+/).pop()) : undefined;
  } catch {
    return undefined;
  }
}

/** A process's command line, its arguments joined by spaces ('' once it is gone). */
export function cmdlineOf(pid: number): string {
  try {
    return readProc(`/proc/${pid}/cmdline`).split('\0').join(' ').trim();
  } catch {
    return '';
  }
}

/** Host pids of every process in the PID namespace `ns`. */
export function processesInNamespace(ns: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readlinkSync(`/proc/${name}/ns/pid`) === ns) out.push(Number(name));
    } catch {
      // gone, or a kernel thread
    }
  }
  return out;
}

/** True when the process `id` (identity()) still exists and is not a zombie. */
export function stillRuns(id: string): boolean {
  const [pid, start] = id.split('@').map(Number);
  const stat = readStat(pid);
  return stat !== undefined && stat.start === start && stat.state !== 'Z' && stat.state !== 'X';
}
