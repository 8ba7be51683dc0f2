// An exclusive flock() on a file: the kernel drops it when its holder dies,
// whatever happened to the pid that took it, so a live owner is told from a
// stale one without trusting pid numbers (reused, and meaningless across PID
// namespaces).
import { closeSync, openSync } from 'node:fs';
import { flock } from './libc.js';

const LOCK_EX = 2;
const LOCK_NB = 4;
const LOCK_SH = 1;

/** Opens `file` and locks it for the life of this process; false when another live process holds it. */
export function lockFile(file: string): boolean {
  // Node opens with O_CLOEXEC: no service inherits the lock and keeps it after we die
  const fd = openSync(file, 'a');
  return flock(fd, LOCK_EX | LOCK_NB);
}

/** True when a live process holds `file`'s lock; takes nothing (a shared probe, dropped at once). */
export function isLocked(file: string): boolean {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return false; // no lock file: no init ever took the dir
  }
  try {
    return !flock(fd, LOCK_SH | LOCK_NB);
  } finally {
    closeSync(fd);
  }
}
