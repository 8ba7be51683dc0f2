// Writes to one fd on a thread of the addon's (writer.c), so the event loop
// formats a fast service's next read while its last one is written: the
// sink's way to the init's stdout for large formatted chunks.
import { constants } from 'node:os';
import { loadNative, type FdWriter } from '../native/addon.js';

interface Queued {
  data: Buffer;
  done?: () => void;
}

export class ThreadWriter {
  private writer?: FdWriter;
  /** written in this order; each Buffer is kept here (alive, and so unchanged by its owner) until it is out */
  private readonly queued: Queued[] = [];
  private idle: Array<() => void> = [];
  private failed = false;

  constructor(
    private readonly fd: number,
    /** after chunks are written: the sink may take more */
    private readonly onWritten: () => void,
    /** a write failed (the reader went away): what was queued is dropped, and nothing more is written */
    private readonly onError: (err: NodeJS.ErrnoException) => void,
  ) {}

  /**
   * Queues `data`; false when the thread cannot take it (it could not start), and never will: the caller writes its
   * own way. A failure with chunks queued (no memory for one more) is told as a failed write.
   */
  write(data: Buffer, done?: () => void): boolean {
    if (this.failed) return false;
    this.writer ??= loadNative().fdWriter(this.fd, (written, errno) => this.written(written, errno));
    const err = loadNative().fdWrite(this.writer, data);
    if (err < 0) {
      this.failed = true;
      if (this.queued.length === 0) return false;
      this.fail(-err);
      done?.();
      return true;
    }
    this.queued.push({ data, done });
    return true;
  }

  /** Chunks queued and not yet written. */
  get pendingChunks(): number {
    return this.queued.length;
  }

  /** Calls `fn` once nothing is queued (at once if nothing is). */
  whenIdle(fn: () => void): void {
    if (this.queued.length === 0) fn();
    else this.idle.push(fn);
  }

  private written(count: number, errno: number): void {
    for (const chunk of this.queued.splice(0, count)) chunk.done?.();
    if (errno) this.fail(errno);
    else this.settle();
    this.onWritten();
  }

  /** Nothing more is written: what is queued is dropped, and the error told. */
  private fail(errno: number): void {
    this.failed = true;
    for (const chunk of this.queued.splice(0)) chunk.done?.();
    const code = Object.entries(constants.errno).find(([, n]) => n === errno)?.[0] ?? `errno ${errno}`;
    this.onError(Object.assign(new Error(`write: ${code}`), { code, errno: -errno }));
    this.settle();
  }

  /** Calls whoever waits for the queue to empty, if it has. */
  private settle(): void {
    if (this.queued.length > 0) return;
    const idle = this.idle;
    this.idle = [];
    for (const fn of idle) fn();
  }
}
