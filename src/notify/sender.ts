// Whose is a message: a sender is the service's when it is its main process,
// in the session its first process leads (each service's process calls
// setsid: src/native/spawn.c), or a descendant of its main process (one
// that made a session of its own). systemd-notify is a child of the
// service, not its main process, so the main pid alone would refuse it.
import { readStat } from '../procfs/proc.js';

/** Deep enough for any real process tree; a bound, so a loop in a racing /proc read cannot hang the init. */
const MAX_DEPTH = 64;

/**
 * True when `pid` is `main`, in the session `leader` leads, or below `main`.
 * A sender already gone cannot be told from a stranger: refused (sd_notify's
 * senders wait for the init with BARRIER=1, which keeps them alive).
 */
export function isServiceProcess(pid: number, main: number, leader: number): boolean {
  if (pid <= 0) return false;
  if (pid === main || pid === leader) return true;
  let stat = readStat(pid);
  if (stat?.sid === leader) return true;
  for (let depth = 0; stat && stat.ppid > 1 && depth < MAX_DEPTH; depth++) {
    if (stat.ppid === main) return true;
    stat = readStat(stat.ppid);
  }
  return false;
}
