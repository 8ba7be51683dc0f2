// Loads Berth's Node-API addon (src/native/*.c), built by `npm ci`
// through node-gyp. There is no fallback: without it a service could outlive
// its init, so a missing build is an error that says how to fix it.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** A libuv poll handle on one fd, owned by the addon (watchReadable). */
export type Watcher = { readonly __watcher: unique symbol };

/** A writer thread on one fd, owned by the addon (fdWriter). */
export type FdWriter = { readonly __fdWriter: unique symbol };

export interface Credentials {
  uid: number;
  gid: number;
  /** supplementary groups; empty clears them */
  groups: number[];
}

/** What spawn() starts; a field left out (undefined or null) is not set. */
export interface SpawnRequest {
  /** absolute path of the program (PATH is not searched) */
  file: string;
  argv: string[];
  /** `KEY=value` strings */
  env: string[];
  cwd?: string;
  /** the fd the child gets as stdin; /dev/null when absent */
  input?: number;
  /** the fd the child gets as stdout, and as stderr unless `error` is given */
  output: number;
  /** the fd the child gets as stderr */
  error?: number;
  /** switch to this user before exec (needs root); absent: keep the init's */
  user?: Credentials;
  /** the child's parent-death signal, armed after the user switch; absent: none */
  deathSignal?: number;
  /** one more descriptor: our `source` as the child's `target` (a readiness notification pipe; target ≥ 3) */
  extraFd?: { source: number; target: number };
  /** cgroup.procs files open for writing (at most 8): the child writes "0" to each before it does anything else, so all it forks is in them too */
  cgroupProcs?: number[];
  /** once the child has exec'd, the init gives up its CPU (sched_yield) so the child runs before the init goes on */
  childFirst?: boolean;
}

export interface Native {
  /** the child's pid, or -errno when it could not exec (it is already reaped); -(errno | (1 + i) << 16) when it could not join cgroupProcs[i] */
  spawn(request: SpawnRequest): number;
  signalIfStarted(pid: number, startTicks: number, signal: number): number;
  pipe(nonBlocking?: boolean): [number, number] | number;
  setPipeSize(fd: number, bytes: number): number;
  reserveFds(count: number): number;
  cloexecInherited(): number;
  prefixInto(lines: Buffer, prefix: Buffer, out: Buffer): [number, number];
  /** each whole line as `head`, its JSON-escaped bytes, `"}` and a newline, while they fit (relay.c): [read, written, stopped at an invalid UTF-8 line] */
  jsonInto(lines: Buffer, head: Buffer, out: Buffer): [number, number, boolean];
  /** a thread that writes the chunks given to fdWrite to `fd`, whole and in order (writer.c); callback(written, errno) on the event loop as they are done */
  fdWriter(fd: number, callback: (written: number, errno: number) => void): FdWriter;
  /** queues `chunk` (kept alive and unchanged by the caller until written): 0, or -errno when nothing was queued */
  fdWrite(writer: FdWriter, chunk: Buffer): number;
  watchReadable(fd: number, callback: () => void): Watcher;
  pauseWatch(watcher: Watcher, paused: boolean): void;
  closeWatch(watcher: Watcher): void;
  readInto(fd: number, buffer: Buffer): number;
  readVia(fd: number, viaWrite: number, viaRead: number, buffer: Buffer): number;
  /** the plain relay's whole lines spliced from `src` to `dst` (relay.c): bytes taken, 0 (read the classic way) or -errno; out: [spliced, tailStart, tailEnd, restLength] */
  spliceLines(src: number, viaWrite: number, viaRead: number, dst: number, devNull: number, maxLine: number, tail: Buffer, rest: Buffer, out: Int32Array): number;
  collectStartupGarbage(): void;
  waitNoHang(pid: number, status: Int32Array): number;
  reapAll(out: Int32Array): number;
  peekExited(): number;
  flock(fd: number, operation: number): number;
  becomeSubreaper(): number;
  exitOnStop(prefix: string, suffix: string): number;
  /** a timerfd on CLOCK_REALTIME (wall-timer.c), or -errno */
  wallTimer(): number;
  /** arms it for `atMs` on the wall clock (< 0: disarms); 0 or -errno */
  setWallTimer(fd: number, atMs: number): number;
  /** a datagram socket bound to `name` ('@': abstract) that hears its senders' credentials (notify-socket.c), or -errno */
  notifySocket(name: string): number;
  /** one datagram into `buffer`, its sender's [pid, uid] and the descriptors it sent (count, fds…: the caller closes them) into `sender`: its whole length (> buffer.length: cut), or -errno */
  notifyReceive(fd: number, sender: Int32Array, buffer: Buffer): number;
  /** a regular file's bytes, at most `limit` (limit + 1: it is longer) (files.c): their count in `scratch`, or a new Buffer when they did not fit; -errno; or what a file that is not regular is */
  readRegularFile(path: string, limit: number, scratch: Buffer): number | Buffer | string;
  /** `bytes` into a new `temp` (0600, then uid:gid when uid >= 0, then `mode`), renamed over `path`: 0, 1 (`path` held them already: nothing written) or -errno, `temp` gone on failure */
  writeFileAtomically(temp: string, path: string, mode: number, uid: number, gid: number, bytes: Buffer): number;
}

// dist/src/native/addon.js → the package root's build/Release
const ADDON = fileURLToPath(new URL('../../../build/Release/berth_pid1.node', import.meta.url));

let addon: Native | undefined;

/** Thrown when the addon is not built (or built for another Node): the message says what to run. */
export class NativeAddonMissing extends Error {}

export function loadNative(): Native {
  if (addon) return addon;
  try {
    addon = createRequire(import.meta.url)(ADDON) as Native;
  } catch (err) {
    throw new NativeAddonMissing(
      `berth's native addon cannot be loaded from ${ADDON} (${(err as Error).message.split('\n')[0]}); ` +
        'build it with `npm ci` or `npm run build:native` (needs a C and C++ compiler, make, python3 and Node headers)',
    );
  }
  return addon;
}
