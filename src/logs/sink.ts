// Where relayed lines go: the init's stdout or an execLogger's pipe. A sink
// that cannot take more (a stuck log collector) makes the relays stop reading,
// so the services block on their pipes and the init's memory stays bounded; a
// sink whose reader went away swallows what follows, so no service dies of it.
import type { Writable } from 'node:stream';
import type { JsonLines } from './format.js';
import { jsonInto, prefixInto } from './pipe-reader.js';
import { ThreadWriter } from './thread-writer.js';

const EMPTY = Buffer.alloc(0);
const NL = 0x0a;
/** The prefix format's output buffer: a read of 1 MiB of short lines with their prefixes fits in one. Its pages are touched only as lines fill them. */
const OUT_BYTES = 2 * 1024 * 1024;
/** A write this large means a service filled its relay pipe (the default pipe's capacity). */
const BIG_WRITE = 64 * 1024;
/** Prefix buffers kept for reuse: one being filled while a pipe stdout still writes out another. */
const KEPT_PREFIX_BUFFERS = 2;
/**
 * What the writer thread may hold before the sink says it is blocked: the
 * chunk it writes and the one formatted meanwhile, each in a kept prefix
 * buffer.
 */
const THREAD_CHUNKS = KEPT_PREFIX_BUFFERS;

/** A prefix buffer and how many queued writes point into it. */
interface PrefixBuffer {
  buf: Buffer;
  writes: number;
}

export class Sink {
  /** the stream took a write past its buffer and has not drained yet (the writer thread's share of `blocked` is its own) */
  private streamFull = false;
  private gone = false;
  private readonly waiting = new Set<() => void>();
  private readonly prefixBuffers: PrefixBuffer[] = [];
  /** large formatted chunks for `fd` (a fast service's) go out through it, made at the first (see viaThread) */
  private thread?: ThreadWriter;

  constructor(
    private readonly stream: Writable,
    /** told once, when the reader goes away */
    private readonly whenGone: (err: Error) => void,
    /** runs before each write: the init's own pending lines go first */
    private readonly before?: () => void,
    /** runs once, at the first write of BIG_WRITE bytes or more: a fast writer is here */
    private onBig?: () => void,
    /** the stream's fd, when relays may splice whole lines into it behind the stream's back (the init's stdout) */
    readonly fd?: number,
  ) {
    stream.on('drain', () => {
      this.streamFull = false;
      this.unblock();
    });
    stream.on('error', (err: Error) => this.lost(err));
  }

  /**
   * Writes `data`; false when the caller should stop reading until `whenDrained` calls back. `done`: the stream no
   * longer holds `data`. `formatted`: a chunk of formatted lines, which may go out on the writer thread (viaThread).
   */
  write(data: Buffer, done?: () => void, formatted = false): boolean {
    this.before?.();
    if (this.gone) {
      done?.();
      return true;
    }
    if (this.onBig && data.length >= BIG_WRITE) {
      this.onBig();
      this.onBig = undefined;
    }
    if (this.viaThread(data, formatted) && this.thread!.write(data, done)) return !this.blocked;
    if (!this.stream.write(data, done)) this.streamFull = true;
    return !this.blocked;
  }

  /**
   * Whether `data` goes out through the writer thread: while it holds chunks (which `data` must follow), or when
   * `data` is a large chunk of formatted lines for `fd` and the stream holds nothing it would overtake. Lines relayed
   * unchanged are not formatted: they are spliced to `fd` where they can be, and a splice waits for the stream.
   */
  private viaThread(data: Buffer, formatted: boolean): boolean {
    if (this.thread?.pendingChunks) return true;
    if (!formatted || this.fd === undefined || data.length < BIG_WRITE || this.stream.writableLength > 0) return false;
    this.thread ??= new ThreadWriter(this.fd, () => this.unblock(), (err) => this.lost(err));
    return true;
  }

  /**
   * Whether a relay may splice into `fd` now: nothing queued in the stream that its lines would overtake (the init's
   * own pending lines go first, and may themselves be what is queued).
   */
  spliceable(): boolean {
    if (this.fd === undefined || this.gone || this.blocked) return false;
    this.before?.();
    return !this.holding;
  }

  /** A relay spliced `bytes` into `fd`: what a write of them would have told. */
  spliced(bytes: number): void {
    if (this.onBig && bytes >= BIG_WRITE) {
      this.onBig();
      this.onBig = undefined;
    }
  }

  /**
   * Writes `lines` (whole lines) with `prefix` before each, copied into
   * buffers the sink reuses once the stream is done with them: no
   * allocation per write, and one write per buffer-full (a new buffer per
   * read cost ~10% of the relay's throughput in page faults, and a pipe
   * stdout holds each write for a while).
   */
  writePrefixed(lines: Buffer, prefix: Buffer): boolean {
    return this.writeFormatted(lines, (from, out) => prefixInto(lines.subarray(from), prefix, out), (line) => {
      // a prefix (the service's name) and line longer than the buffer: a buffer of their own
      const own = Buffer.allocUnsafe(prefix.length + line.length);
      return own.subarray(0, prefixInto(line, prefix, own)[1]);
    });
  }

  /** Writes `lines` (whole lines) as json objects, as writePrefixed does with prefixes. */
  writeJson(lines: Buffer, json: JsonLines): boolean {
    return this.writeFormatted(lines, (from, out) => jsonInto(lines.subarray(from), json.head, out), json.one);
  }

  /**
   * `lines` through `into` (a native pass that formats whole lines into a buffer while they fit: [read, written,
   * stopped before a line it cannot do]), a reused buffer at a time; a line it cannot do (too long for the buffer,
   * or, in json, not UTF-8) through `one`.
   */
  private writeFormatted(lines: Buffer, into: (from: number, out: Buffer) => [number, number, boolean?], one: (line: Buffer) => Buffer): boolean {
    if (this.gone) return true; // nothing to format for
    let flowing = true;
    for (let from = 0; from < lines.length; ) {
      const out = this.prefixBuffer();
      const [read, written, refused] = into(from, out.buf);
      if (written > 0) {
        out.writes++;
        flowing = this.write(out.buf.subarray(0, written), () => out.writes--, true) && flowing;
      }
      from += read;
      if (from < lines.length && (read === 0 || refused)) {
        const nl = lines.indexOf(NL, from);
        const line = lines.subarray(from, nl === -1 ? lines.length : nl + 1);
        flowing = this.write(one(line)) && flowing;
        from += line.length;
      }
    }
    return flowing;
  }

  /** A prefix buffer no queued write points into: the first while the stream holds nothing (its write callbacks may still be due), else one whose writes are done, else a new one. */
  private prefixBuffer(): PrefixBuffer {
    if (!this.holding && this.prefixBuffers.length > 0) return this.prefixBuffers[0];
    let free = this.prefixBuffers.find((b) => b.writes === 0);
    if (!free) {
      free = { buf: Buffer.allocUnsafe(OUT_BYTES), writes: 0 };
      if (this.prefixBuffers.length < KEPT_PREFIX_BUFFERS) this.prefixBuffers.push(free);
    }
    return free;
  }

  /** True from a write that filled the stream's buffer until it drains, or while the writer thread holds all it may (and until the reader goes away). */
  get blocked(): boolean {
    if (this.gone) return false;
    return this.streamFull || (this.thread?.pendingChunks ?? 0) >= THREAD_CHUNKS;
  }

  /** True while the stream or the writer thread holds queued data: memory handed to the last write must not be reused. */
  get holding(): boolean {
    return !this.gone && (this.stream.writableLength > 0 || (this.thread?.pendingChunks ?? 0) > 0);
  }

  /** Resolves once everything written so far is out (or the reader is gone). */
  drained(): Promise<void> {
    return new Promise((resolve) => {
      // the thread's chunks and the stream's writes take turns (viaThread): whichever holds some goes first
      const check = (): void => {
        if (this.gone) resolve();
        else if (this.thread?.pendingChunks) this.thread.whenIdle(check);
        else if (this.stream.writableLength > 0) this.stream.write(EMPTY, check);
        else resolve();
      };
      check();
    });
  }

  /** Calls `fn` once the sink takes writes again (at once if it does). */
  whenDrained(fn: () => void): void {
    if (this.blocked) this.waiting.add(fn);
    else fn();
  }

  /** Calls whoever waits for the sink to take writes again, once it does. */
  private unblock(): void {
    if (this.blocked) return;
    const waiting = [...this.waiting];
    this.waiting.clear();
    for (const fn of waiting) fn();
  }

  /** The reader went away (the stream or the writer thread said so): said once; what follows is swallowed. */
  private lost(err: Error): void {
    if (this.gone) return;
    this.gone = true;
    this.whenGone(err);
    this.unblock();
  }
}
