// An execLogger: one long-lived shell command that reads a service's stdout
// and stderr on its stdin. It outlives restarts of its service (the pipe stays
// open in the init), and it gets EOF, not a signal, when the service is done,
// so no line is lost.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Writable } from 'node:stream';
import { owned, notifyChildEvent } from '../pid1/index.js';
import { log } from './log.js';

export class ExecLogger {
  private child?: ChildProcess;

  constructor(
    private readonly service: string,
    private readonly command: string,
    private readonly env: Record<string, string>,
  ) {}

  /** The pipe to hand to the service as stdout and stderr; starts the logger if it is not running. */
  input(): Writable {
    if (this.child?.stdin && !this.child.stdin.writableEnded) return this.child.stdin;
    const child = spawn('/bin/sh', ['-c', this.command], { env: this.env, stdio: ['pipe', 1, 1], detached: true });
    this.child = child;
    const stdin = child.stdin!;
    stdin.on('error', () => {}); // EPIPE when the logger dies: the exit below says so
    if (child.pid === undefined) {
      child.once('error', (err) => log(`${this.service}: execLogger could not start: ${err.message}`));
      return stdin;
    }
    const pid = child.pid;
    owned.add(pid);
    child.once('exit', (code, signal) => {
      owned.delete(pid);
      if (this.child === child) this.child = undefined;
      if (code !== 0) log(`${this.service}: execLogger exited (${signal ?? `code ${code}`})`);
      notifyChildEvent();
    });
    return stdin;
  }

  /** Closes the pipe: the logger reads what is left, then EOF, then exits by itself. */
  close(): void {
    this.child?.stdin?.end();
  }

  /** Resolves once the logger process has exited (at once if none runs). */
  exited(): Promise<void> {
    const child = this.child;
    return child ? new Promise((resolve) => child.once('exit', () => resolve())) : Promise.resolve();
  }
}
