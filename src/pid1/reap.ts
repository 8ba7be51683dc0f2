// Reaps zombies that nobody else will: orphans re-parented to us, and
// children spawned by the addon (their exit goes to a watcher). libuv
// and node-pty reap their own children by pid, and stealing one of those
// loses its exit status: pids they own are registered in `owned` and left
// alone, and waitpid(-1) is used only while `owned` is empty.
import { listChildren } from './children.js';
import { peekExited, reapAll, reapIfExited } from './libc.js';

/** Pids that libuv or node-pty will reap: add right after spawn, delete on exit. */
export const owned = new Set<number>();

// SIGCHLD wakes us; the sweep only covers a lost wakeup (none is known), so it
// is rare. Its timer also keeps the event loop alive when nothing else does
// (S6_DONT_TERMINATE_ON_ERROR with no service left): the init ends only by exit().
const SAFETY_SWEEP_MS = 60_000;
/**
 * A pass reaps at most this many batches (of up to 1,024) or scans, then
 * lets the event loop turn and goes on: children that exit as fast as they
 * are reaped (a fork loop) cannot hold PID 1's thread.
 */
const MAX_BATCHES_PER_PASS = 64;
const MAX_REAPS_PER_PASS = 64 * 1024;

let listeners: Array<() => void> = [];
const watchers = new Map<number, (status: number) => void>();

/** Hands the raw wait status of `pid`, spawned outside libuv, to `fn` once the reaper reaps it. */
export function watchExit(pid: number, fn: (status: number) => void): void {
  watchers.set(pid, fn);
}

/** Reaps `pid` if it has exited and tells its watcher; true if reaped. */
function reap(pid: number): boolean {
  const status = reapIfExited(pid);
  if (status === undefined) return false;
  deliver(pid, status);
  return true;
}

function deliver(pid: number, status: number): void {
  const watcher = watchers.get(pid);
  if (!watcher) return;
  watchers.delete(pid);
  watcher(status);
}

/**
 * Reaps every exited child we do not own. The kernel names one exited child
 * at a time (waitid WNOWAIT, which reaps nothing), so 10,000 orphans cost
 * 10,000 cheap calls, not a re-read of a 10,000-entry list per wake-up. When
 * the child it names is owned, others may wait behind it: then scan the list.
 * True when it stopped at its bound with more left to reap.
 */
export function reapZombies(): boolean {
  // Nobody else reaps a child of ours while `owned` is empty (services are
  // spawned by the addon, only node-pty owns pids): the addon then reaps the
  // whole pile with waitpid(-1) in C, and JS sees only its own children.
  // JS runs on one thread, so nothing joins `owned` during this loop.
  if (owned.size === 0) return reapAll(deliver, MAX_BATCHES_PER_PASS);
  for (let n = 0; n < MAX_REAPS_PER_PASS; n++) {
    const pid = peekExited();
    if (pid === undefined) return false;
    if (owned.has(pid)) return reapByScan();
    reap(pid);
  }
  return true;
}

/** waitpid(WNOHANG) every child we do not own, until a pass reaps nothing (SIGCHLDs coalesce); true when it stopped at its bound. */
function reapByScan(): boolean {
  for (let passes = 0; passes < MAX_BATCHES_PER_PASS; passes++) {
    let reaped = false;
    for (const pid of listChildren()) {
      if (!owned.has(pid) && reap(pid)) reaped = true;
    }
    if (!reaped) return false;
  }
  return true;
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
    if (reapZombies()) setImmediate(pass); // more to reap: after a turn of the loop
    notifyChildEvent();
  };
  process.on('SIGCHLD', pass);
  setInterval(pass, SAFETY_SWEEP_MS);
  pass();
}
