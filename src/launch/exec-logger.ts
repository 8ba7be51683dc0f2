// An execLogger: one long-lived shell command that reads a service's stdout
// and stderr on its stdin. The init holds the pipe's write end, so the logger
// outlives restarts of its service; closing it gives the logger EOF, not a
// signal, when the service is done, so no line is lost.
import { closeSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import { Sink } from '../logs/index.js';
import { makePipe } from '../native/fds.js';
import { log } from '../logs/init-log.js';
import { spawnProcess, type Running } from './spawn.js';

export class ExecLogger {
  private writeEnd?: number;
  private stream?: Socket;
  private relaySink?: Sink;
  private running?: Running;

  constructor(
    private readonly service: string,
    private readonly command: string,
    private readonly env: Record<string, string>,
  ) {}

  /** The fd to hand to the service as stdout and stderr; starts the logger if it is not running. */
  input(): number {
    if (this.writeEnd !== undefined) return this.writeEnd;
    const pipe = makePipe();
    const running = spawnProcess({ file: '/bin/sh', args: ['-c', this.command], env: this.env }, 1, { input: pipe.read });
    closeSync(pipe.read);
    this.writeEnd = pipe.write;
    this.running = running;
    void running.exited.then((exit) => {
      if (this.running === running) {
        this.running = undefined;
        this.close(); // the service's next start gets a new logger
      }
      if (exit.code !== 0) log(`${this.service}: execLogger ${exit.reason ?? `exited (${exit.signal ?? `code ${exit.code}`})`}`);
    });
    return pipe.write;
  }

  /**
   * The same pipe as a stream, for a service whose output the init relays; it
   * owns the fd from then on. A libuv pipe, not an fs stream: a stuck logger
   * must block its service, not one of libuv's four threads.
   */
  output(): Socket {
    const fd = this.input();
    if (!this.stream) {
      // node:net loads here, not with the init: most services have no execLogger
      const { Socket: PipeSocket } = createRequire(import.meta.url)('node:net') as typeof import('node:net');
      this.stream = new PipeSocket({ fd, readable: false, writable: true });
      this.stream.on('error', () => {}); // EPIPE when the logger dies: its exit is logged
    }
    return this.stream;
  }

  /** The pipe as the relay's sink: back-pressure from a slow logger reaches the service. */
  sink(): Sink {
    this.relaySink ??= new Sink(this.output(), () => {});
    return this.relaySink;
  }

  /** Closes our end of the pipe: the logger reads what is left, then EOF, then exits by itself. */
  close(): void {
    if (this.writeEnd === undefined) return;
    // a relay stream still holding data closes the fd once it has written it, never before
    if (this.stream) this.stream.end();
    else closeSync(this.writeEnd);
    this.stream = undefined;
    this.relaySink = undefined;
    this.writeEnd = undefined;
  }

  /** Resolves once the logger process has exited (at once if none runs). */
  exited(): Promise<void> {
    return this.running ? this.running.exited.then(() => undefined) : Promise.resolve();
  }
}
