// Reaps zombies that nobody else will: orphans re-parented to us, and
// children spawned outside child_process. Never waitpid(-1): libuv and
// node-pty reap their own children by pid, and stealing one of those loses
// its exit status. Pids they own are registered in `owned` and left alone.
import { listChildren } from './children.js';
import { reapIfExited } from './libc.js';

/** Pids that libuv or node-pty will reap: add right after spawn, delete on exit. */
export const owned = new Set<number>();

// SIGCHLD wakes us; the sweep only covers a lost wakeup (none is known), so it is rare.
const SAFETY_SWEEP_MS = 60_000;

let listeners: Array<() => void> = [];

/** One pass: waitpid(WNOHANG) every child we do not own, until a pass reaps nothing (SIGCHLDs coalesce). */
export function reapZombies(): number {
  let total = 0;
  for (;;) {
    let reaped = 0;
    for (const pid of listChildren()) {
      if (!owned.has(pid) && reapIfExited(pid) !== undefined) reaped++;
    }
    total += reaped;
    if (reaped === 0) return total;
  }
}

/** Calls `fn` after every reaping pass, so waiters learn when children are gone without polling. */
export function onChildEvent(fn: () => void): () => void {
  listeners.push(fn);
  return () => {
    listeners = listeners.filter((l) => l !== fn);
  };
}

/** Notifies child-event listeners; also called when an owned child's exit is reported. */
export function notifyChildEvent(): void {
  for (const fn of [...listeners]) fn();
}

/** Starts reaping on SIGCHLD, plus a rare safety sweep. */
export function startReaper(): void {
  const pass = (): void => {
    reapZombies();
    notifyChildEvent();
  };
  process.on('SIGCHLD', pass);
  setInterval(pass, SAFETY_SWEEP_MS).unref();
  pass();
}
