// The last step of a shutdown: whatever the services left behind goes too.
import { listDescendants } from './children.js';

export const isPid1 = process.pid === 1;

/**
 * As PID 1, signals every process in the container (kill(-1) spares only us).
 * Otherwise, signals only our descendants: a laptop run must never touch the
 * user's other processes.
 */
export function killAll(signal: NodeJS.Signals): void {
  if (isPid1) {
    try {
      process.kill(-1, signal);
    } catch {
      // ESRCH: nothing left to signal
    }
    return;
  }
  for (const pid of listDescendants()) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}
