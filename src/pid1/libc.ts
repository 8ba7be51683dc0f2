// The one place Berth calls libc directly: Node has no waitpid() for pids it
// did not spawn, and no prctl(). koffi is loaded on first use, so an init
// that never meets an orphan never pays for it.
import { createRequire } from 'node:module';

const WNOHANG = 1;
const PR_SET_CHILD_SUBREAPER = 36;

interface Libc {
  waitpid: (pid: number, status: [number], options: number) => number;
  prctl: (option: number, arg: number) => number;
  errno: () => number;
}

let libc: Libc | undefined;

function load(): Libc {
  if (libc) return libc;
  const koffi = createRequire(import.meta.url)('koffi');
  const lib = koffi.load('libc.so.6');
  const waitpid = lib.func('int waitpid(int pid, _Out_ int *status, int options)');
  const prctl = lib.func('int prctl(int option, ...)');
  libc = {
    waitpid,
    prctl: (option, arg) => prctl(option, 'unsigned long', arg, 'unsigned long', 0, 'unsigned long', 0, 'unsigned long', 0),
    errno: () => koffi.errno(),
  };
  return libc;
}

/** Reaps `pid` if it has exited; returns its raw wait status, or undefined if it is still running or not ours. */
export function reapIfExited(pid: number): number | undefined {
  const status: [number] = [0];
  const got = load().waitpid(pid, status, WNOHANG);
  return got === pid ? status[0] : undefined;
}

/** Makes orphaned descendants re-parent to this process instead of the real init, so we can reap and stop them. */
export function becomeSubreaper(): void {
  const c = load();
  if (c.prctl(PR_SET_CHILD_SUBREAPER, 1) !== 0) throw new Error(`prctl(PR_SET_CHILD_SUBREAPER) failed: errno ${c.errno()}`);
}

/** Decodes a wait status into what a shell would report. */
export function decodeWaitStatus(status: number): { code: number | null; signal: number | null } {
  const sig = status & 0x7f;
  return sig === 0 ? { code: (status >> 8) & 0xff, signal: null } : { code: null, signal: sig };
}
