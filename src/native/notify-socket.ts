// A socket for systemd's notification protocol (notify-socket.c): datagrams
// with their sender's pid and uid, as the kernel vouches for them. A
// datagram larger than MAX_DATAGRAM is cut by the kernel and handed on as
// oversized, so a flood of big ones costs no more memory than small ones.
import { closeSync } from 'node:fs';
import { constants } from 'node:os';
import { errnoName } from '../unix/errno.js';
import { loadNative, type Watcher } from './addon.js';

/** The largest message taken; sd_notify's own are a few hundred bytes. */
export const MAX_DATAGRAM = 4096;

/** Datagrams read per wake: a flood yields to the rest of the loop between batches (the poll fires again while more wait). */
const BATCH = 64;

export interface Datagram {
  /** 0: the kernel did not say (a sender outside the init's pid namespace) */
  pid: number;
  uid: number;
  /** the message; undefined when it was larger than MAX_DATAGRAM */
  data: Buffer | undefined;
  /** its whole length in bytes */
  length: number;
}

export class NotifySocket {
  private readonly watcher: Watcher;
  private readonly buffer = Buffer.alloc(MAX_DATAGRAM);
  /** [pid, uid, count, descriptors…] of the last datagram (notify-socket.c) */
  private readonly sender = new Int32Array(3 + 16);
  private readonly fd: number;
  private closed = false;

  /** Bound to `name` ('@' first: the abstract namespace); throws when it cannot be. */
  constructor(name: string, private readonly received: (datagram: Datagram) => void) {
    const native = loadNative();
    const fd = native.notifySocket(name);
    if (fd < 0) throw new Error(`cannot make the notification socket ${name}: ${errnoName(-fd)}`);
    this.fd = fd;
    this.watcher = native.watchReadable(fd, () => this.readable());
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    loadNative().closeWatch(this.watcher);
    closeSync(this.fd);
  }

  private readable(): void {
    const native = loadNative();
    for (let i = 0; i < BATCH && !this.closed; i++) {
      const got = native.notifyReceive(this.fd, this.sender, this.buffer);
      if (got === -constants.errno.EAGAIN) return;
      // any other error is the socket's own (ENOMEM): the next wake tries again
      if (got < 0) return;
      const data = got > MAX_DATAGRAM ? undefined : Buffer.from(this.buffer.subarray(0, got));
      try {
        this.received({ pid: this.sender[0], uid: this.sender[1], data, length: got });
      } finally {
        // the init keeps no descriptor a service sends; only now, once its sender was judged (see notify-socket.c)
        for (let f = 0; f < this.sender[2]; f++) closeSync(this.sender[3 + f]);
      }
    }
  }
}
