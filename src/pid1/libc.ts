// The wait and prctl calls Node has no API for (waitpid() for pids it did
// not spawn, waitid(), PR_SET_CHILD_SUBREAPER, flock()), through the addon
// (native/reap.c, flock in native/fds.c).
import { loadNative } from '../native/addon.js';

// reused for every call: no allocation per reaped child
const status = new Int32Array(1);
// (pid, status) pairs of one reapAll call; orphans take no room in it
const BATCH = 1024;
const batch = new Int32Array(BATCH * 2);

/** Reaps `pid` if it has exited; returns its raw wait status, or undefined if it is still running or not ours. */
export function reapIfExited(pid: number): number | undefined {
  return loadNative().waitNoHang(pid, status) === pid ? status[0] : undefined;
}

/**
 * Reaps every exited child in C (waitpid(-1) in a loop) and hands `fn` the
 * (pid, status) of each one spawnNative started; orphans are reaped unseen.
 * Only for when no one else reaps children of ours. At most `maxBatches`
 * batches: true when it stopped there with more perhaps left.
 */
export function reapAll(fn: (pid: number, status: number) => void, maxBatches: number): boolean {
  const native = loadNative();
  for (let b = 0; b < maxBatches; b++) {
    const n = native.reapAll(batch);
    for (let i = 0; i < n; i++) fn(batch[2 * i], batch[2 * i + 1]);
    if (n < BATCH) return false;
  }
  return true;
}

/** The pid of some exited child, without reaping it (waitid WNOWAIT); undefined when none has exited. */
export function peekExited(): number | undefined {
  return loadNative().peekExited() || undefined;
}

/** flock(fd, operation): true when taken, false when another process holds a conflicting lock. */
export function flock(fd: number, operation: number): boolean {
  return loadNative().flock(fd, operation) === 0;
}

/** Decodes a raw wait status into an exit code, or the number of the signal that killed it. */
export function decodeWaitStatus(status: number): { code: number | null; signal: number | null } {
  const sig = status & 0x7f;
  return sig === 0 ? { code: (status >> 8) & 0xff, signal: null } : { code: null, signal: sig };
}

/** Makes orphaned descendants re-parent to this process instead of the real init, so we can reap and stop them. */
export function becomeSubreaper(): void {
  const err = loadNative().becomeSubreaper();
  if (err !== 0) throw new Error(`prctl(PR_SET_CHILD_SUBREAPER) failed: errno ${-err}`);
}

/**
 * Until the supervisor listens, SIGTERM and SIGINT end this process at once
 * with exit 0, saying `prefix SIGNAL suffix` on stderr (early-stop.c): no
 * turn of the event loop needed, so a long synchronous start (a huge
 * manifest) cannot hold a stop back. process.on() for them replaces it.
 */
export function exitOnStopSignals(prefix: string, suffix: string): void {
  const err = loadNative().exitOnStop(prefix, suffix);
  if (err !== 0) throw new Error(`sigaction(SIGTERM) failed: errno ${-err}`);
}
