// The pipes PID 1 makes: for a service's output and readiness, sized for a
// fast writer, watched by libuv and read without a net.Socket, and the
// prefix format's copy of their lines.
import { closeSync } from 'node:fs';
import { loadNative, type Watcher } from './native.js';

/** A pipe whose ends close on exec; spawn dup2s them where a child needs them. */
export function makePipe(): { read: number; write: number } {
  const fds = loadNative().pipe();
  if (typeof fds === 'number') throw new Error(`cannot make a pipe: errno ${-fds} (too many open files?)`);
  return { read: fds[0], write: fds[1] };
}

/** Asks the kernel for a pipe of `bytes` capacity; false when refused (the per-user pipe quota), and the pipe keeps its size. */
export function setPipeSize(fd: number, bytes: number): boolean {
  return loadNative().setPipeSize(fd, bytes) === 0;
}

/**
 * Copies the lines of `lines`, each after `prefix`, into `out` while whole
 * ones fit (the log relay's prefix format, in one native pass); returns how
 * many bytes of `lines` it took and of `out` it filled.
 */
export function prefixInto(lines: Buffer, prefix: Buffer, out: Buffer): [read: number, written: number] {
  return loadNative().prefixInto(lines, prefix, out);
}

/**
 * A non-blocking fd that libuv watches for us: `onReadable` runs whenever it
 * can be read (or is at EOF) while not paused. Far lighter than a
 * net.Socket, which the log relay needed one of per service.
 */
export class ReadableFd {
  private watcher: Watcher | null;

  constructor(
    readonly fd: number,
    onReadable: () => void,
  ) {
    this.watcher = loadNative().watchReadable(fd, onReadable);
  }

  get closed(): boolean {
    return this.watcher === null;
  }

  /** Bytes read into `buffer` (0 at EOF), or -errno (-EAGAIN: nothing for now). */
  read(buffer: Buffer): number {
    return loadNative().readInto(this.fd, buffer);
  }

  pause(paused: boolean): void {
    if (this.watcher) loadNative().pauseWatch(this.watcher, paused);
  }

  /** Stops watching and closes the fd. */
  close(): void {
    if (!this.watcher) return;
    loadNative().closeWatch(this.watcher);
    this.watcher = null;
    closeSync(this.fd);
  }
}
