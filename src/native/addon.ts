// Loads Berth's Node-API addon (src/native/*.c), built by `npm ci`
// through node-gyp. There is no fallback: without it a service could outlive
// its init, so a missing build is an error that says how to fix it.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** A libuv poll handle on one fd, owned by the addon (watchReadable). */
export type Watcher = { readonly __watcher: unique symbol };

export interface Native {
  spawn(file: string, argv: string[], env: string[], cwd: string | null, input: number, output: number, uid: number, gid: number, groups: number[], deathSignal: number, extraSource: number, extraTarget: number, error: number): number;
  signalIfStarted(pid: number, startTicks: number, signal: number): number;
  pipe(nonBlocking?: boolean): [number, number] | number;
  setPipeSize(fd: number, bytes: number): number;
  reserveFds(count: number): number;
  cloexecInherited(): number;
  prefixInto(lines: Buffer, prefix: Buffer, out: Buffer): [number, number];
  watchReadable(fd: number, callback: () => void): Watcher;
  pauseWatch(watcher: Watcher, paused: boolean): void;
  closeWatch(watcher: Watcher): void;
  readInto(fd: number, buffer: Buffer): number;
  readVia(fd: number, viaWrite: number, viaRead: number, buffer: Buffer): number;
  collectStartupGarbage(): void;
  waitNoHang(pid: number, status: Int32Array): number;
  reapAll(out: Int32Array): number;
  peekExited(): number;
  flock(fd: number, operation: number): number;
  becomeSubreaper(): number;
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
