// One timer on the wall clock (wall-timer.c): it fires when the clock reads
// the time it was set for, and also when the clock is set, so its owner
// hears of a jump at once. The jobs' scheduler keeps one.
import { closeSync } from 'node:fs';
import { constants } from 'node:os';
import { errnoName } from '../unix/errno.js';
import { loadNative, type Watcher } from './addon.js';

export class WallTimer {
  private fd = -1;
  private watcher?: Watcher;
  private readonly expirations = Buffer.alloc(8);

  /** `fired(clockSet)`: the time came, or (clockSet) the wall clock was set while it was armed. */
  constructor(private readonly fired: (clockSet: boolean) => void) {}

  /** Fires once when the wall clock reads `atMs` (ms since the epoch), at once when that is past; replaces any earlier time. */
  at(atMs: number): void {
    const native = loadNative();
    if (this.fd < 0) {
      const fd = native.wallTimer();
      if (fd < 0) throw new Error(`cannot make a timer on the wall clock: ${errnoName(-fd)}`);
      this.fd = fd;
      this.watcher = native.watchReadable(fd, () => this.readable());
    }
    const err = native.setWallTimer(this.fd, Math.max(0, atMs));
    if (err < 0) throw new Error(`cannot set the timer on the wall clock: ${errnoName(-err)}`);
  }

  /** Disarmed until the next at(). */
  cancel(): void {
    if (this.fd >= 0) loadNative().setWallTimer(this.fd, -1);
  }

  /** Never fires again; the descriptor is closed (what the loop watched goes with it). */
  close(): void {
    if (this.fd < 0) return;
    loadNative().closeWatch(this.watcher!);
    closeSync(this.fd);
    this.fd = -1;
    this.watcher = undefined;
  }

  private readable(): void {
    const got = loadNative().readInto(this.fd, this.expirations);
    // EAGAIN: re-armed or disarmed since it became readable
    if (got === -constants.errno.EAGAIN) return;
    this.fired(got === -constants.errno.ECANCELED);
  }
}
