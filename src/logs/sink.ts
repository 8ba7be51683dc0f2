// Where relayed lines go: the init's stdout or an execLogger's pipe. A sink
// that cannot take more (a stuck log collector) makes the relays stop reading,
// so the services block on their pipes and the init's memory stays bounded; a
// sink whose reader went away swallows what follows, so no service dies of it.
import type { Writable } from 'node:stream';

const EMPTY = Buffer.alloc(0);

export class Sink {
  private isBlocked = false;
  private gone = false;
  private readonly waiting = new Set<() => void>();

  constructor(
    private readonly stream: Writable,
    /** told once, when the reader goes away */
    whenGone: (err: Error) => void,
    /** runs before each write: the init's own pending lines go first */
    private readonly before?: () => void,
  ) {
    stream.on('drain', () => this.unblock());
    stream.on('error', (err: Error) => {
      if (this.gone) return;
      this.gone = true;
      whenGone(err);
      this.unblock();
    });
  }

  /** Writes `data`; false when the caller should stop reading until `whenDrained` calls back. */
  write(data: Buffer): boolean {
    this.before?.();
    if (this.gone) return true;
    if (!this.stream.write(data)) this.isBlocked = true;
    return !this.isBlocked;
  }

  /** True from a write that filled the stream's buffer until it drains (or its reader goes away). */
  get blocked(): boolean {
    return this.isBlocked;
  }

  /** True while the stream holds queued data: memory handed to the last write must not be reused. */
  get holding(): boolean {
    return !this.gone && this.stream.writableLength > 0;
  }

  /** Resolves once everything written so far is out (or the reader is gone). */
  drained(): Promise<void> {
    if (this.gone || this.stream.writableLength === 0) return Promise.resolve();
    return new Promise((resolve) => this.stream.write(EMPTY, () => resolve()));
  }

  /** Calls `fn` once the sink takes writes again (at once if it does). */
  whenDrained(fn: () => void): void {
    if (this.isBlocked) this.waiting.add(fn);
    else fn();
  }

  private unblock(): void {
    this.isBlocked = false;
    const waiting = [...this.waiting];
    this.waiting.clear();
    for (const fn of waiting) fn();
  }
}
