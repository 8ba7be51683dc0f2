// A named pipe that services write one line to with a shell builtin
// (`echo up $$ > FIFO`: no extra exec), timestamped here on arrival. The
// bench's event loop is otherwise idle, so arrival is within a fraction of a
// millisecond of the write.
import { execFileSync } from 'node:child_process';
import { constants, openSync } from 'node:fs';
import { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

export interface Event {
  t: number; // performance.now() at arrival
  text: string;
}

const MAX_EVENTS = 100_000;

export class EventFifo {
  readonly events: Event[] = [];
  private readonly socket: Socket;
  private partial = '';
  private waiters: Array<() => void> = [];

  constructor(readonly path: string) {
    execFileSync('mkfifo', ['-m', '0666', path]);
    // O_RDWR: opening never blocks, and writers never see EPIPE while we hold it
    const fd = openSync(path, constants.O_RDWR | constants.O_NONBLOCK);
    this.socket = new Socket({ fd, readable: true, writable: false });
    this.socket.setEncoding('latin1');
    this.socket.on('data', (chunk: string) => this.onData(chunk));
    this.socket.on('error', () => {});
  }

  private onData(chunk: string): void {
    const t = performance.now();
    const lines = (this.partial + chunk).split('\n');
    this.partial = lines.pop() ?? '';
    for (const text of lines) if (this.events.length < MAX_EVENTS) this.events.push({ t, text });
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Resolves with the events matching `pred` once there are `count` of them, or rejects after `timeoutMs`. */
  waitFor(pred: (e: Event) => boolean, count: number, timeoutMs: number, after = 0): Promise<Event[]> {
    return new Promise((resolve, reject) => {
      // only the events that arrived since the last look are tested: 1,000 services, not 1,000²
      const got: Event[] = [];
      let seen = 0;
      const timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${count} events (got ${got.length})`)), timeoutMs);
      const check = (): void => {
        for (; seen < this.events.length; seen++) {
          const e = this.events[seen];
          if (e.t >= after && pred(e)) got.push(e);
        }
        if (got.length >= count) {
          clearTimeout(timer);
          resolve(got);
        } else {
          this.waiters.push(check);
        }
      };
      check();
    });
  }

  close(): void {
    this.socket.destroy();
  }
}
