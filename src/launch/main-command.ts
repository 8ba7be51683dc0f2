// The container's CMD as its main program (`/init COMMAND…`): started once
// the services are ready, with the container's stdin, stdout, stderr and
// terminal; its exit ends the run with its exit code. It stays in the init's
// session and process group, so a terminal's job control and Ctrl-C reach it
// as they would without an init. libuv spawns and reaps it: its pid is
// registered as owned, so the reaper never takes its exit status.
import { spawn, type ChildProcess } from 'node:child_process';
import { notifyChildEvent, owned } from '../pid1/index.js';
import { exitCodeOf } from '../unix/signals.js';

export class MainCommand {
  private child?: ChildProcess;
  readonly exited: Promise<number>;
  private done!: (code: number) => void;

  constructor(readonly argv: string[]) {
    this.exited = new Promise((resolve) => (this.done = resolve));
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts it; `onError` hears why it could not start (then it "exits" 127 or 126, like a shell). */
  start(env: Record<string, string>, onError: (message: string) => void): void {
    const [file, ...args] = this.argv;
    const child = spawn(file, args, { stdio: 'inherit', env });
    this.child = child;
    if (child.pid !== undefined) owned.add(child.pid);
    child.once('error', (err: NodeJS.ErrnoException) => {
      onError(`cannot run ${file}: ${err.code === 'ENOENT' ? 'not found' : err.message}`);
      this.done(err.code === 'ENOENT' ? 127 : 126);
    });
    child.once('exit', (code, signal) => {
      if (child.pid !== undefined) owned.delete(child.pid);
      notifyChildEvent();
      this.done(exitCodeOf({ code, signal }));
    });
  }

  /** Sends `signal` to it alone: it shares the init's process group. */
  signal(signal: NodeJS.Signals): void {
    if (this.running) this.child!.kill(signal);
  }
}
