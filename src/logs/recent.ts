// The recent output of one service, for `berth logs`: a ring of bytes that
// grows as the service writes, up to RECENT_BYTES, then drops its oldest lines.
// Bounded by bytes, not lines, so a service of long lines costs what a
// service of short ones does; a quiet service costs almost nothing.

/** What the init keeps of each service's output (docs/logging.md). */
export const RECENT_BYTES = 64 * 1024;
const FIRST_SIZE = 4 * 1024;
const NL = 0x0a;

export class RecentLines {
  private ring: Buffer | null = null;
  private start = 0;
  private length = 0;
  /** true once old bytes were overwritten: the oldest kept line may have lost its start */
  private dropped = false;

  /** Keeps whole lines (each ends with a newline); copies them. */
  append(lines: Buffer): void {
    if (lines.length >= RECENT_BYTES) {
      this.dropped ||= this.length > 0 || lines.length > RECENT_BYTES;
      // the ring is reused: `berth logs` copies what it reads of it
      if (this.ring?.length !== RECENT_BYTES) this.ring = Buffer.allocUnsafe(RECENT_BYTES);
      lines.copy(this.ring, 0, lines.length - RECENT_BYTES);
      this.start = 0;
      this.length = RECENT_BYTES;
      return;
    }
    this.reserve(this.length + lines.length);
    const ring = this.ring!;
    const overflow = this.length + lines.length - ring.length;
    if (overflow > 0) {
      this.start = (this.start + overflow) % ring.length;
      this.length -= overflow;
      this.dropped = true;
    }
    const end = (this.start + this.length) % ring.length;
    const first = Math.min(lines.length, ring.length - end);
    lines.copy(ring, end, 0, first);
    lines.copy(ring, 0, first);
    this.length += lines.length;
  }

  /** Keeps only `lines` (whole ones): the lines between the kept ones and these went by unseen (spliced to stdout unread). */
  replace(lines: Buffer): void {
    this.start = 0;
    this.length = 0;
    this.dropped = false;
    this.append(lines);
  }

  /** The last `n` whole lines kept, oldest first: a view of the ring until the next append (copy it to keep it). */
  last(n: number): Buffer {
    const all = this.contents();
    let from = all.length;
    for (let i = 0; i < n && from > 0; i++) {
      // from - 2 skips the newline that ends the line found last (a negative offset would count from the end)
      const nl = from >= 2 ? all.lastIndexOf(NL, from - 2) : -1;
      from = nl + 1;
    }
    // the oldest line may be the remains of one that was partly overwritten
    if (from === 0 && this.dropped) from = all.indexOf(NL) + 1;
    return all.subarray(from);
  }

  private contents(): Buffer {
    if (!this.ring) return Buffer.alloc(0);
    const end = this.start + this.length;
    if (end <= this.ring.length) return this.ring.subarray(this.start, end);
    return Buffer.concat([this.ring.subarray(this.start), this.ring.subarray(0, end - this.ring.length)]);
  }

  /** Grows the ring (doubling, up to RECENT_BYTES) so it can hold `size` bytes; the contents start at 0 afterwards. */
  private reserve(size: number): void {
    const have = this.ring?.length ?? 0;
    if (size <= have || have === RECENT_BYTES) return;
    let next = Math.max(have * 2, FIRST_SIZE);
    while (next < size && next < RECENT_BYTES) next *= 2;
    const grown = Buffer.allocUnsafe(Math.min(next, RECENT_BYTES));
    this.contents().copy(grown);
    this.ring = grown;
    this.start = 0;
  }
}
