// The relay's native I/O: a service's output pipe watched by libuv and read
// without a net.Socket, sped up for a fast writer, and the prefix format's
// copy of whole lines in one native pass.
import { closeSync } from 'node:fs';
import { constants } from 'node:os';
import { loadNative, type Watcher } from '../native/addon.js';
import { makePipe, setPipeSize } from '../native/fds.js';

/**
 * Copies the lines of `lines`, each after `prefix`, into `out` while whole
 * ones fit (the log relay's prefix format, in one native pass); returns how
 * many bytes of `lines` it took and of `out` it filled.
 */
export function prefixInto(lines: Buffer, prefix: Buffer, out: Buffer): [read: number, written: number] {
  return loadNative().prefixInto(lines, prefix, out);
}

/** Each whole line of `lines` as `head`, its JSON-escaped text, `"}` and a newline, into `out` while they fit (relay.c); see Sink.writeJson. */
export function jsonInto(lines: Buffer, head: Buffer, out: Buffer): [read: number, written: number, invalid: boolean] {
  return loadNative().jsonInto(lines, head, out);
}

const EAGAIN = -constants.errno.EAGAIN;

/**
 * A non-blocking fd that libuv watches for us: `onReadable` runs whenever it
 * can be read (or is at EOF) while not paused. Far lighter than a
 * net.Socket, which the log relay needed one of per service.
 */
export class ReadableFd {
  private watcher: Watcher | null;
  /** the pipe of our own that a fast writer's pages pass through (see speedUp) */
  private via?: { read: number; write: number };

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
    if (!this.via) return loadNative().readInto(this.fd, buffer);
    const n = loadNative().readVia(this.fd, this.via.write, this.via.read, buffer);
    if (n >= 0 || n === EAGAIN) return n;
    // splice refused (a seccomp filter, an fd that is no pipe): read as before, same bytes
    this.dropVia();
    return loadNative().readInto(this.fd, buffer);
  }

  /**
   * For a pipe with a fast writer: grows it to `bytes` and reads it through
   * a pipe of our own of that size, so the writer's copies and ours overlap
   * (readVia in the addon; 1.7x the throughput of a plain read in C on a
   * 2-core VM). Best effort: past the per-user pipe quota, or out of fds,
   * the pipe is read as before.
   */
  speedUp(bytes: number): void {
    if (this.closed) return; // the fd number may be another file's by now
    setPipeSize(this.fd, bytes);
    if (this.via) return;
    let via: { read: number; write: number };
    try {
      via = makePipe(true);
    } catch {
      return; // out of fds: the direct read stays, only slower
    }
    this.via = via;
    // a smaller go-between would split each read into several: not worth it
    if (!setPipeSize(via.write, bytes)) this.dropVia();
  }

  /**
   * The whole lines the pipe holds, moved to `dst` without a copy (spliceLines in the addon), once speedUp gave it a
   * pipe of its own to tee into: bytes taken, 0 when it must be read the classic way, or -errno (-EAGAIN: nothing
   * now). After any other error the pipe of its own is dropped, whatever it still holds with it: reads go direct.
   */
  spliceLines(dst: number, devNull: number, maxLine: number, tail: Buffer, rest: Buffer, out: Int32Array): number {
    if (!this.via) return 0;
    const n = loadNative().spliceLines(this.fd, this.via.write, this.via.read, dst, devNull, maxLine, tail, rest, out);
    if (n < 0 && n !== EAGAIN) this.dropVia();
    return n;
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
    this.dropVia();
  }

  private dropVia(): void {
    if (!this.via) return;
    closeSync(this.via.read);
    closeSync(this.via.write);
    this.via = undefined;
  }
}
