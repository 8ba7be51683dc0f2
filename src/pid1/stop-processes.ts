// Stops processes that are not our children (a dead init's leftovers): TERM,
// a grace period, then KILL. Each signal goes through a pidfd after checking
// the start time again, so a pid that was reused meanwhile is never hit.
import { readFileSync } from 'node:fs';
import { signalIfStarted } from './spawn.js';

export interface KnownProcess {
  pid: number;
  /** start time in clock ticks after boot (field 22 of /proc/PID/stat) */
  start: number;
}

// They are not our children: no SIGCHLD, no waitpid. Polling /proc is the
// only wake-up, and this runs once, before any service starts, only when
// leftovers were found.
const POLL_MS = 25;

/** Still running: not gone, not a zombie, and the same process (its start time). */
function running(p: KnownProcess): boolean {
  try {
    const stat = readFileSync(`/proc/${p.pid}/stat`, 'latin1');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[0] !== 'Z' && rest[0] !== 'X' && Number(rest[19]) === p.start;
  } catch {
    return false;
  }
}

/** TERMs `procs`, waits up to `graceMs` for them to go, then KILLs the rest; resolves with how many needed the KILL. */
export async function stopProcesses(procs: KnownProcess[], graceMs: number): Promise<{ killed: number }> {
  for (const p of procs) signalIfStarted(p.pid, p.start, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  let left = procs.filter(running);
  while (left.length && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(POLL_MS, Math.max(0, deadline - Date.now()))));
    left = left.filter(running);
  }
  for (const p of left) signalIfStarted(p.pid, p.start, 'SIGKILL');
  return { killed: left.length };
}
