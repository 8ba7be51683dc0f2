// The relay of one service's output: per process, a pipe (two in json, to
// tell stdout from stderr) whose read end the init watches with libuv's poll
// handle (through the addon: a net.Socket per pipe cost ~85 us each), cut
// into whole lines, kept for `berth logs`, formatted, and written to a sink.
// Reading stops while the sink is blocked: back-pressure, not memory.
import { closeSync, openSync } from 'node:fs';
import { createRequire } from 'node:module';
import { constants } from 'node:os';
import type * as NodeStream from 'node:stream';
import { makePipe } from '../native/fds.js';
import { ReadableFd } from './pipe-reader.js';
import { formatterFor, unchanged, type Formatter, type Logging, type Stream } from './format.js';
import { LineFramer, MAX_LINE } from './framer.js';
import { RECENT_BYTES, RecentLines } from './recent.js';
import type { Sink } from './sink.js';

/** A partial last line is relayed after this long without more output. */
export const STALL_MS = 500;

/**
 * A relay pipe's capacity once its service has filled the default 64 KiB
 * (at 64 KiB a fast writer and the init take turns at every 64 KiB), and
 * from then on it is read through a second pipe of that size (ReadableFd's
 * speedUp). Only then: each larger pipe's slot array is ~10 kB of kernel
 * memory (charged to the container), and the second pipe two fds, for each
 * of what may be 1,000 quiet services. Best effort: past the per-user pipe
 * quota the pipe keeps the default.
 */
const PIPE_BYTES = 1024 * 1024;
const DEFAULT_PIPE_BYTES = 64 * 1024;
/** libuv's own bound on reads per wake-up of a stream. */
const READS_PER_WAKE = 32;
/** At a service's exit, how much of what its pipe holds is read at once: at most 256 reads of READ_SIZE (96 MiB), should a process it left behind keep writing. */
const READS_PER_DRAIN = 256;
const EAGAIN = -constants.errno.EAGAIN;

// node:stream loads only for a terminal's output (writable), never on the way to the first spawn
const load = createRequire(import.meta.url);

/** The fds a process gets, and what the supervisor calls once it has started and once it has exited. */
export interface Capture {
  stdout: number;
  stderr: number;
  /** closes the init's copies of the child's ends: EOF then comes when the last writer is gone */
  spawned(): void;
  /** the process exited: what it wrote is in the pipe already; relay it, and its unfinished line, now */
  exited(): void;
  /** the process was never started (a descriptor its start needed could not be had): both ends go */
  abandon(): void;
}

export class ServiceLog {
  /** what `berth logs` shows; null in passthrough, where the init never sees the output */
  readonly recent: RecentLines | null;
  private readonly followers = new Set<(lines: Buffer) => void>();
  private readonly formatted: Formatter;

  constructor(
    readonly name: string,
    readonly logging: Logging,
    width: number,
  ) {
    this.recent = logging.format === 'passthrough' ? null : new RecentLines();
    this.formatted = formatterFor(name, logging, width);
  }

  /** Pipes for one process writing to `sink` (asked for at its first line); `raw`: the sink is an execLogger, which gets the lines unformatted. */
  capture(sink: () => Sink, raw: boolean): Capture {
    const format = raw ? unchanged : this.formatted;
    const json = this.logging.format === 'json' && !raw;
    const out = makePipe();
    let err = out;
    if (json) {
      try {
        err = makePipe();
      } catch (e) {
        closePipe(out);
        throw e;
      }
    }
    const readers: PipeReader[] = [];
    return {
      stdout: out.write,
      stderr: err.write,
      spawned: () => {
        closeSync(out.write);
        if (json) closeSync(err.write);
        // made at the first line: stdout's sink loads process.stdout and node:net (~10 ms), a stall in a start burst
        let made: Sink | undefined;
        const to = (): Sink => (made ??= sink());
        // plain lines to the init's stdout may be spliced there, unread (PipeReader.splice)
        const direct = !raw && !format.prefix && !format.json ? { keep: (lines: Buffer, afterGap: boolean) => (afterGap ? this.recent?.replace(lines) : this.recent?.append(lines)), followed: () => this.followers.size > 0 } : undefined;
        const copied = format.prefix !== null || format.json !== null;
        readers.push(new PipeReader(out.read, (lines) => this.relay(lines, 'stdout', to(), format), to, copied, direct));
        if (json) readers.push(new PipeReader(err.read, (lines) => this.relay(lines, 'stderr', to(), format), to, copied));
      },
      exited: () => {
        for (const r of readers) r.drain();
      },
      abandon: () => {
        closePipe(out);
        if (json) closePipe(err);
      },
    };
  }

  /** A writable for output that does not come through a pipe (a terminal's); its callback waits while the sink is blocked. */
  writable(sink: Sink, raw: boolean): NodeStream.Writable {
    const format = raw ? unchanged : this.formatted;
    const framer = new LineFramer((lines) => this.relay(lines, 'stdout', sink, format));
    return new (load('node:stream') as typeof NodeStream).Writable({
      write: (chunk: Buffer, _enc, done) => {
        framer.push(chunk);
        sink.whenDrained(() => done());
      },
      final: (done) => {
        framer.flush();
        done();
      },
    });
  }

  /** Calls `fn` with each buffer of whole lines from now on; returns the way to stop. */
  follow(fn: (lines: Buffer) => void): () => void {
    this.followers.add(fn);
    return () => this.followers.delete(fn);
  }

  private relay(lines: Buffer, stream: Stream, sink: Sink, format: Formatter): boolean {
    this.recent?.append(lines);
    for (const fn of this.followers) fn(lines);
    if (format.prefix) return sink.writePrefixed(lines, format.prefix());
    if (format.json) return sink.writeJson(lines, format.json(stream));
    return sink.write(lines);
  }
}

/**
 * Bytes read (or spliced) at once of lines relayed unchanged: 3/8 of the
 * relay pipe's capacity, and of the init's stdout pipe's once grown. What
 * one read gives out then fits in the stdout pipe beside what its reader has
 * not taken yet, so the init reads the next while the reader copies this
 * one. With reads of the whole 1 MiB a write never fitted: the init waited
 * for the pipe to drain, then the reader for the init (1 GiB through `| cat`:
 * plain 1.5 → 2.2 GB/s). Pages of the buffer are touched only as reads fill
 * them.
 */
const READ_SIZE = (PIPE_BYTES / 8) * 3;

/**
 * What a reader whose lines are formatted reads at once: 3/4 of the pipe.
 * Its output (1.1x in `prefix`, up to 1.8x in `json`) goes out on the sink's
 * writer thread, which waits for the stdout pipe in the loop's stead, so
 * fewer, larger reads only save the loop's syscalls and wake-ups (1 GiB of
 * json through `| cat`, interleaved: ~1.2–1.45 → ~1.3–1.6 GB/s against
 * 384 KiB).
 */
const FORMATTED_READ_SIZE = (PIPE_BYTES / 4) * 3;

/**
 * A buffer to read into, after `headroom` bytes of its own memory: room for
 * the unfinished line of the read before (at most MAX_LINE), which the
 * framer joins to the lines it starts, so a flood's read goes out in one
 * write, not two. A chunk's headroom is its byteOffset (the buffer is too
 * large for Node's shared pool). Only a reader that filled its pipe gets
 * any: the headroom puts the first read into a page of its own, 4 kB more
 * for each of what may be 1,000 quiet services.
 */
function readBuffer(headroom: number, size: number): Buffer {
  return Buffer.allocUnsafe(headroom + size).subarray(headroom);
}

/**
 * What every reader reads into until its first read, which is copied out at
 * once: a reader gets a buffer of its own only when its service writes.
 * 1,000 quiet services each holding 1 MiB cost ~4 kB of RSS apiece and made
 * V8 collect over and over for the 1 GB of outside memory they reported.
 */
let firstReads: Buffer | undefined;
/** Scratch for the synchronous read at a process's exit; replaced when a queued write still holds it. */
let scratch: Buffer | undefined;

/** What a reader of lines relayed unchanged needs to splice them: where the recent lines go, and whether anyone follows them. */
interface Direct {
  /** the last whole lines of a splice; `afterGap`: lines before them were spliced unseen, so they replace what was kept */
  keep(lines: Buffer, afterGap: boolean): void;
  followed(): boolean;
}

/** The splices' scratch: the last whole lines of each (for `berth logs`), and what spliceLines reports. */
let spliceTail: Buffer | undefined;
let spliceOut: Int32Array | undefined;
let devNull: number | undefined;

/** One pipe's read end, read into a buffer of its own from its second read on (no allocation per read). */
class PipeReader {
  private buffer?: Buffer;
  private readonly pipe: ReadableFd;
  private readonly framer: LineFramer;
  private stallTimer?: NodeJS.Timeout;
  private flowing = true;
  private grown = false;
  /** spliceLines said these fds cannot splice: read the classic way from now on */
  private spliceRefused = false;
  /** what this reader's buffers have before them (see readBuffer) */
  private headroom = 0;
  /** what it reads at once (READ_SIZE, FORMATTED_READ_SIZE) */
  private readonly readSize: number;

  constructor(
    fd: number,
    relay: (lines: Buffer) => boolean,
    private readonly sink: () => Sink,
    /** the relay writes copies of the lines (formatted), never the read buffer itself: it can be reused at once */
    private readonly copied: boolean,
    private readonly direct?: Direct,
  ) {
    this.readSize = copied ? FORMATTED_READ_SIZE : READ_SIZE;
    this.framer = new LineFramer((lines) => {
      if (!relay(lines)) this.flowing = false;
    });
    this.pipe = new ReadableFd(fd, () => this.onReadable());
  }

  /** Reads what the pipe holds now without waiting (the writer exited), then relays the unfinished line. */
  drain(): void {
    for (let reads = 0; !this.pipe.closed; reads++) {
      // bounded: a process the service left behind may still be writing; the pipe's watcher reads on, and the unfinished line waits
      if (reads === READS_PER_DRAIN) return;
      scratch ??= readBuffer(0, READ_SIZE);
      const n = this.pipe.read(scratch);
      if (n === 0) {
        this.end();
        return;
      }
      if (n < 0) break; // EAGAIN: empty
      this.take(scratch.subarray(0, n));
      if (this.written()) scratch = undefined;
    }
    this.framer.flush();
  }

  /**
   * libuv says the pipe has data or is at EOF. Like libuv's own streams, it
   * reads again at once while reads fill the buffer (a fast writer has more
   * by then), up to READS_PER_WAKE; reading stops while the sink is blocked.
   */
  private onReadable(): void {
    for (let reads = 0; reads < READS_PER_WAKE && this.flowing && !this.pipe.closed; reads++) {
      // a splice ends at a line's end: nearly a full read means the pipe was full
      if (this.readOnce() < this.readSize - MAX_LINE) return;
    }
  }

  /** One read (or splice) and its relay; what it took, or 0 when there was nothing to take. */
  private readOnce(): number {
    const spliced = this.splice();
    if (spliced !== undefined) return spliced;
    let buf = this.buffer ?? (firstReads ??= readBuffer(0, FORMATTED_READ_SIZE)).subarray(0, this.readSize);
    const n = this.pipe.read(buf);
    if (n === EAGAIN) return 0;
    if (n <= 0) {
      this.end(); // EOF: every writer is gone (or the pipe failed, which nothing can mend)
      return 0;
    }
    if (!this.buffer) {
      // the shared first buffer: other readers read into it next, so nothing may keep pointing into it
      this.buffer = readBuffer(0, this.readSize);
      buf.copy(this.buffer, 0, 0, n);
      buf = this.buffer;
    }
    if (!this.grown && n >= DEFAULT_PIPE_BYTES) this.grow();
    this.take(buf.subarray(0, n));
    // a queued write may still point into it, or the reader filled its pipe and the next read wants headroom
    if (this.written() || this.buffer.byteOffset !== this.headroom) this.buffer = readBuffer(this.headroom, this.readSize);
    if (!this.flowing) this.waitForSink();
    return n;
  }

  /**
   * A fast writer's plain lines bound for the init's stdout, moved there without being read (spliceLines), when
   * nothing queued in the sink would be overtaken and nobody follows them: what it took (0: nothing there now), or
   * undefined when the pipe is to be read the classic way. While the framer holds the start of a line, the whole
   * lines are read instead, through it, so that none is left unfinished and the next one can splice.
   */
  private splice(): number | undefined {
    if (!this.direct || !this.grown || this.spliceRefused || this.direct.followed()) return undefined;
    const sink = this.sink();
    if (!sink.spliceable()) return undefined;
    const finishing = this.framer.pending;
    const rest = (this.buffer ??= readBuffer(this.headroom, this.readSize));
    spliceTail ??= Buffer.allocUnsafe(RECENT_BYTES);
    spliceOut ??= new Int32Array(4);
    devNull ??= openSync('/dev/null', 'w');
    const n = this.pipe.spliceLines(finishing ? -1 : sink.fd!, devNull, MAX_LINE, spliceTail, rest, spliceOut);
    if (n === EAGAIN) return 0;
    if (n <= 0) {
      if (n < 0) this.spliceRefused = true;
      return undefined;
    }
    const [moved, tailStart, tailEnd, left] = spliceOut;
    if (finishing) {
      this.take(rest.subarray(0, left));
    } else {
      sink.spliced(moved);
      this.direct.keep(spliceTail.subarray(tailStart, tailEnd), tailEnd - tailStart < n);
      // what stdout would not take now goes behind, through the sink, which then holds back the next splice
      if (left > 0 && !sink.write(rest.subarray(0, left))) this.flowing = false;
    }
    if (sink.holding) this.buffer = readBuffer(this.headroom, this.readSize);
    if (!this.flowing) this.waitForSink();
    return n;
  }

  /** Whether a write queued in the sink may point into what was read last. */
  private written(): boolean {
    return !this.copied && this.sink().holding;
  }

  /** The sink is full: reading pauses until it drains (unless it already has). */
  private waitForSink(): void {
    if (!this.sink().blocked) {
      this.flowing = true;
      return;
    }
    this.pipe.pause(true);
    this.sink().whenDrained(() => {
      this.flowing = true;
      this.pipe.pause(false);
    });
  }

  /** The service filled its pipe: from now on it gets the large one, read through a second (best effort, see PIPE_BYTES). */
  private grow(): void {
    this.grown = true;
    this.headroom = MAX_LINE;
    this.pipe.speedUp(PIPE_BYTES);
  }

  private end(): void {
    this.framer.flush();
    clearTimeout(this.stallTimer);
    this.pipe.close();
  }

  private take(chunk: Buffer): void {
    this.framer.push(chunk, chunk.byteOffset);
    if (this.framer.pending && !this.stallTimer) this.armStall(this.framer.pushes);
  }

  /** Relays an unfinished line once nothing has come for STALL_MS; armed only while one is pending, so idle costs nothing. */
  private armStall(seen: number): void {
    this.stallTimer = setTimeout(() => {
      this.stallTimer = undefined;
      if (!this.framer.pending) return;
      // paused by back-pressure, the rest of the line may be waiting in the pipe: that is no stall
      if (this.framer.pushes !== seen || !this.flowing) return this.armStall(this.framer.pushes);
      // nor is it when the init's own loop was late (a timer runs before the poll): what the pipe holds comes first
      this.onReadable();
      if (this.framer.pushes === seen && !this.pipe.closed) this.framer.flush();
    }, STALL_MS);
    this.stallTimer.unref();
  }
}

function closePipe(pipe: { read: number; write: number }): void {
  closeSync(pipe.read);
  closeSync(pipe.write);
}
