// Cuts one pipe's bytes into whole lines, so a line is never split or merged
// with another service's, and a line longer than MAX_LINE is cut. The
// complete lines of a chunk go out in one buffer, most often a view of the
// chunk itself: no copy and no allocation per line. Finding a too-long line
// costs one search per MAX_LINE bytes, not one per line.

/** A line longer than this is cut into pieces of this size, each ending with a newline. */
export const MAX_LINE = 64 * 1024;
const NL = 0x0a;
const NEWLINE = Buffer.from('\n');

export class LineFramer {
  /** the unfinished last line (a copy: the chunk it came in is reused), at most MAX_LINE bytes */
  private tail: Buffer | null = null;
  /** bumped by every push: a stall timer knows whether anything came since it was armed */
  pushes = 0;

  /** `emit` gets one or more whole lines, each ending with `\n`; a view it must not keep beyond the call. */
  constructor(private readonly emit: (lines: Buffer) => void) {}

  get pending(): boolean {
    return this.tail !== null;
  }

  /**
   * `headroom`: bytes of the chunk's memory just before it that are free to
   * write (a reader that reads at an offset). When the unfinished line ends
   * in this chunk and fits there, it is copied in front of the chunk, so
   * the chunk's lines go out in one buffer with it rather than two.
   */
  push(chunk: Buffer, headroom = 0): void {
    this.pushes++;
    let from = 0;
    if (this.tail) {
      const nl = chunk.indexOf(NL);
      if (nl !== -1 && this.tail.length <= headroom) {
        const joined = Buffer.from(chunk.buffer, chunk.byteOffset - this.tail.length, this.tail.length + chunk.length);
        this.tail.copy(joined);
        this.tail = null;
        chunk = joined;
      } else {
        this.extendTail(chunk.subarray(0, nl === -1 ? chunk.length : nl));
        if (nl === -1) return;
        this.flush(); // the line it started ends in this chunk
        from = nl + 1;
      }
    }
    const last = chunk.lastIndexOf(NL);
    if (last >= from) {
      if (hasLongLine(chunk, from, last)) this.cutEach(chunk, from, last);
      else this.emit(chunk.subarray(from, last + 1));
      from = last + 1;
    }
    if (from < chunk.length) this.extendTail(chunk.subarray(from));
  }

  /** Relays the unfinished last line as a line of its own: the process exited or stalled. */
  flush(): void {
    if (!this.tail) return;
    const tail = this.tail;
    this.tail = null;
    this.emit(Buffer.concat([tail, NEWLINE]));
  }

  /** The rare path: whole lines between `from` and the newline at `last`, some longer than MAX_LINE, one at a time. */
  private cutEach(chunk: Buffer, from: number, last: number): void {
    while (from <= last) {
      const nl = chunk.indexOf(NL, from);
      this.extendTail(chunk.subarray(from, nl));
      if (this.tail) this.flush();
      else this.emit(NEWLINE); // an empty line
      from = nl + 1;
    }
  }

  /** Adds bytes to the current line; a piece goes out each time it would outgrow MAX_LINE. */
  private extendTail(more: Buffer): void {
    let taken = 0;
    while (taken < more.length) {
      const have = this.tail?.length ?? 0;
      const room = MAX_LINE - have;
      if (room === 0) {
        // a full piece and more of the same line to come: the piece goes out now
        this.emit(Buffer.concat([this.tail!, NEWLINE]));
        this.tail = null;
        continue;
      }
      const part = more.subarray(taken, taken + room);
      this.tail = this.tail ? Buffer.concat([this.tail, part]) : Buffer.from(part);
      taken += part.length;
    }
  }
}

/** True when a line between `from` and the newline at `last` is longer than MAX_LINE: some MAX_LINE + 1 bytes hold no newline. */
function hasLongLine(chunk: Buffer, from: number, last: number): boolean {
  let start = from;
  while (last - start > MAX_LINE) {
    const nl = chunk.lastIndexOf(NL, start + MAX_LINE);
    if (nl < start) return true;
    start = nl + 1;
  }
  return false;
}
