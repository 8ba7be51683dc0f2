// The one place Berth calls libc directly: Node has no waitpid() for pids it
// did not spawn, no prctl(), no posix_spawn(). koffi is loaded on first use:
// `berth validate` and `build` never pay for it.
import { createRequire } from 'node:module';

const WNOHANG = 1;
const WEXITED = 4;
const WNOWAIT = 0x01000000;
const P_ALL = 0;
const PR_SET_CHILD_SUBREAPER = 36;
// siginfo_t is 128 bytes on Linux; si_pid sits at byte 16 on 64-bit targets
const SIGINFO_INTS = 32;
const SI_PID = 4;

interface Libc {
  waitpid: (pid: number, status: Int32Array, options: number) => number;
  waitid: (idtype: number, id: number, info: Int32Array, options: number) => number;
  prctl: (option: number, arg: number) => number;
  errno: () => number;
}

let libc: Libc | undefined;
let lib: KoffiLib | undefined;

interface KoffiLib {
  // an FFI boundary: each caller states the JS type of the function it declares
  func(signature: string): any;
}
// reused for every call: no allocation per reaped child
const status = new Int32Array(1);
const siginfo = new Int32Array(SIGINFO_INTS);

/** libc through koffi, for the other native calls of src/pid1. */
export function loadLibc(): KoffiLib {
  load();
  return lib!;
}

function load(): Libc {
  if (libc) return libc;
  const koffi = createRequire(import.meta.url)('koffi');
  lib = koffi.load('libc.so.6') as KoffiLib;
  const prctl = lib.func('int prctl(int option, ...)');
  libc = {
    waitpid: lib.func('int waitpid(int pid, _Inout_ int32_t *status, int options)'),
    waitid: lib.func('int waitid(int idtype, int id, _Inout_ int32_t *infop, int options)'),
    prctl: (option, arg) => prctl(option, 'unsigned long', arg, 'unsigned long', 0, 'unsigned long', 0, 'unsigned long', 0),
    errno: () => koffi.errno(),
  };
  return libc;
}

/** Reaps `pid` if it has exited; returns its raw wait status, or undefined if it is still running or not ours. */
export function reapIfExited(pid: number): number | undefined {
  return load().waitpid(pid, status, WNOHANG) === pid ? status[0] : undefined;
}

/** Reaps any one exited child (waitpid(-1)): only for when no one else reaps children of ours. */
export function reapAny(): { pid: number; status: number } | undefined {
  const pid = load().waitpid(-1, status, WNOHANG);
  return pid > 0 ? { pid, status: status[0] } : undefined;
}

/** The pid of some exited child, without reaping it (waitid WNOWAIT); undefined when none has exited. */
export function peekExited(): number | undefined {
  siginfo.fill(0);
  if (load().waitid(P_ALL, 0, siginfo, WEXITED | WNOHANG | WNOWAIT) !== 0) return undefined; // ECHILD: no children
  return siginfo[SI_PID] || undefined;
}

/** Decodes a raw wait status into an exit code, or the number of the signal that killed it. */
export function decodeWaitStatus(status: number): { code: number | null; signal: number | null } {
  const sig = status & 0x7f;
  return sig === 0 ? { code: (status >> 8) & 0xff, signal: null } : { code: null, signal: sig };
}

/** Makes orphaned descendants re-parent to this process instead of the real init, so we can reap and stop them. */
export function becomeSubreaper(): void {
  const c = load();
  if (c.prctl(PR_SET_CHILD_SUBREAPER, 1) !== 0) throw new Error(`prctl(PR_SET_CHILD_SUBREAPER) failed: errno ${c.errno()}`);
}
