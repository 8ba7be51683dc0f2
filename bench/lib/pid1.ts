// Runs a command as PID 1 of a fresh PID namespace:
//   unshare --pid --fork --mount-proc --kill-child CMD...
// unshare does not forward signals, so the inner PID 1 is found through
// /proc/<unshare>/task/<unshare>/children and signalled directly. When the
// inner PID 1 dies the kernel kills everything left in the namespace, so
// SIGKILL to it is a complete clean-up.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { sleepSync } from './proc.js';

export interface Line {
  t: number;
  text: string;
}

const MAX_LINES = 20_000;
const live = new Set<Pid1>();

export class Pid1 {
  readonly t0: number; // performance.now() just before the exec of unshare
  readonly child: ChildProcess;
  readonly lines: Line[] = [];
  readonly exited: Promise<number | null>;
  private exitCode: number | null | undefined;
  private partial = '';
  private innerPid?: number;
  private waiters: Array<() => void> = [];

  constructor(argv: string[], env: NodeJS.ProcessEnv, cwd: string) {
    this.t0 = performance.now();
    this.child = spawn('unshare', ['--pid', '--fork', '--mount-proc', '--kill-child', ...argv], {
      env,
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    live.add(this);
    for (const stream of [this.child.stdout!, this.child.stderr!]) {
      stream.setEncoding('latin1');
      stream.on('data', (chunk: string) => this.onData(chunk));
    }
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code) => {
        this.exitCode = code;
        live.delete(this);
        resolve(code);
      }),
    );
    this.child.once('error', () => {
      this.exitCode = null;
      live.delete(this);
    });
  }

  private onData(chunk: string): void {
    const t = performance.now();
    const lines = (this.partial + chunk).split('\n');
    this.partial = lines.pop() ?? '';
    for (const text of lines) if (this.lines.length < MAX_LINES) this.lines.push({ t, text });
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Resolves with the output lines matching `pred` once there are `count` of them, or rejects after `timeoutMs`. */
  waitForLines(pred: (text: string) => boolean, count: number, timeoutMs: number): Promise<Line[]> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${count} lines (got ${this.lines.filter((l) => pred(l.text)).length})`));
      }, timeoutMs);
      const check = (): void => {
        const got = this.lines.filter((l) => pred(l.text));
        if (got.length >= count) {
          clearTimeout(timer);
          resolve(got);
        } else this.waiters.push(check);
      };
      check();
    });
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  /** The host pid of the inner PID 1; waits (bounded) for unshare to fork it. */
  pid(timeoutMs = 5000): number {
    if (this.innerPid) return this.innerPid;
    const outer = this.child.pid;
    if (outer === undefined) throw new Error('unshare did not start');
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      try {
        const words = readFileSync(`/proc/${outer}/task/${outer}/children`, 'latin1').trim();
        if (words) return (this.innerPid = Number(words.split(' ')[0]));
      } catch {
        break; // unshare is gone
      }
      sleepSync(0.2);
    }
    throw new Error(`no PID 1 appeared under unshare (pid ${outer}); output:\n${this.output()}`);
  }

  /** Async variant: polls without blocking the event loop (pipes keep draining). */
  async pidAsync(timeoutMs = 5000): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      try {
        return this.pid(1);
      } catch (err) {
        if (performance.now() > deadline || !this.running) throw err;
      }
      await delay(2);
    }
  }

  output(): string {
    return this.lines.map((l) => l.text).join('\n') + this.partial;
  }

  /** SIGKILL to PID 1 and unshare, without waiting. */
  killNow(): void {
    const inner = this.innerPid;
    if (inner) safe(() => process.kill(inner, 'SIGKILL'));
    safe(() => this.child.kill('SIGKILL'));
  }

  /** Ends the namespace: `signal` to PID 1, then SIGKILL after `graceMs`. True if it ended before the SIGKILL. */
  async stop(signal: NodeJS.Signals = 'SIGKILL', graceMs = 3000): Promise<boolean> {
    if (!this.running) return true;
    const inner = this.innerPid ?? safe(() => this.pid(500));
    if (inner) safe(() => process.kill(inner, signal));
    else safe(() => this.child.kill('SIGKILL'));
    let graceful = signal === 'SIGKILL' || (await within(this.exited, graceMs));
    if (!(await within(this.exited, signal === 'SIGKILL' ? 5000 : 0))) {
      graceful = false;
      if (inner) safe(() => process.kill(inner, 'SIGKILL'));
      safe(() => this.child.kill('SIGKILL'));
      await within(this.exited, 5000);
    }
    return graceful;
  }
}

/** Kills every namespace still running (the bench is exiting, maybe on an error or ^C). */
export function killAllPid1s(): void {
  for (const p of live) p.killNow();
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([p.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function safe<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}
