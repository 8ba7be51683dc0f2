// Starts one process for a service, in its own process group, and reports its
// end once, as an exit code or a signal. Every pid is registered with the
// reaper before anything else can run, so the reaper never steals its status.
import { spawn } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import type { Writable } from 'node:stream';
import { owned, notifyChildEvent } from '../pid1/index.js';
import type { Launch } from './launch.js';
import { signalName } from './signals.js';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  reason?: string; // why it could not start, when it never ran
}

export interface Running {
  pid?: number; // undefined when it never started
  exited: Promise<Exit>;
}

/** Where a service's stdout and stderr go: our own stdout (fd 1), or a logger's stdin. */
export type Output = number | Writable;

export function spawnProcess(launch: Launch, output: Output): Running {
  const unrunnable = checkProgram(launch);
  if (unrunnable) return { exited: Promise.resolve(unrunnable) };
  let child;
  try {
    child = spawn(launch.file, launch.args, {
      env: launch.env,
      cwd: launch.cwd,
      stdio: ['ignore', output, output],
      detached: true, // setsid: its own process group, so stopping it reaches its children
    });
  } catch (err) {
    return { exited: Promise.resolve(cannotStart(err as NodeJS.ErrnoException, launch)) };
  }
  const pid = child.pid;
  if (pid === undefined) {
    // exec failed (ENOENT, EACCES…): Node reports it on the next tick
    return { exited: new Promise((resolve) => child.once('error', (err) => resolve(cannotStart(err as NodeJS.ErrnoException, launch)))) };
  }
  owned.add(pid);
  const exited = new Promise<Exit>((resolve) =>
    child.once('exit', (code, signal) => {
      owned.delete(pid);
      notifyChildEvent();
      resolve({ code, signal });
    }),
  );
  return { pid, exited };
}

/**
 * libuv reports a failed exec of a non-executable file only as exit 127, the
 * same as a program's own 127; looking first gives the real reason and code.
 */
function checkProgram(launch: Launch): Exit | undefined {
  const { file, cwd, env } = launch;
  if (cwd && !isDirectory(cwd)) return { code: 126, signal: null, reason: `working directory ${cwd} does not exist` };
  const candidates = file.includes('/') ? [resolve(cwd ?? '.', file)] : (env.PATH ?? '').split(':').map((dir) => join(resolve(cwd ?? '.', dir || '.'), file));
  const found = candidates.find((c) => {
    try {
      return statSync(c).isFile();
    } catch {
      return false;
    }
  });
  if (!found) return { code: 127, signal: null, reason: `program '${file}' not found${file.includes('/') ? '' : ` in PATH=${env.PATH ?? ''}`}` };
  try {
    accessSync(found, constants.X_OK);
  } catch {
    return { code: 126, signal: null, reason: `program '${found}' is not executable (permission denied)` };
  }
  return undefined;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Maps a failed exec to the shell's codes (127 not found, 126 not executable) and one line of why. */
function cannotStart(err: NodeJS.ErrnoException, launch: Launch): Exit {
  if (err.code === 'ENOENT') return { code: 127, signal: null, reason: `program '${launch.file}' not found (PATH=${launch.env.PATH ?? ''})` };
  if (err.code === 'EACCES') return { code: 126, signal: null, reason: `program '${launch.file}' is not executable (permission denied)` };
  return { code: 126, signal: null, reason: `cannot run '${launch.file}': ${err.message}` };
}

interface Pty {
  pid: number;
  onData(cb: (data: string) => void): void;
  onExit(cb: (e: { exitCode: number; signal?: number }) => void): void;
  pause(): void;
  resume(): void;
}

/** Runs a service under a pseudo-terminal; node-pty is loaded only for services that ask for one. */
export function spawnWithTerminal(launch: Launch, output: Writable): Running {
  const pty = createRequire(import.meta.url)('node-pty') as {
    spawn(file: string, args: string[], opts: object): Pty;
  };
  const unrunnable = checkProgram(launch);
  if (unrunnable) return { exited: Promise.resolve(unrunnable) };
  let term: Pty;
  try {
    term = pty.spawn(launch.file, launch.args, { name: 'xterm', cols: 120, rows: 40, cwd: launch.cwd ?? process.cwd(), env: launch.env });
  } catch (err) {
    return { exited: Promise.resolve(cannotStart(err as NodeJS.ErrnoException, launch)) };
  }
  owned.add(term.pid);
  // a slow reader pauses the terminal instead of growing our memory
  term.onData((data) => {
    if (!output.write(data)) {
      term.pause();
      output.once('drain', () => term.resume());
    }
  });
  const pid = term.pid;
  const exited = new Promise<Exit>((resolve) =>
    term.onExit(({ exitCode, signal }) => {
      owned.delete(pid);
      notifyChildEvent();
      resolve(signal ? { code: null, signal: signalName(signal) ?? 'SIGKILL' } : { code: exitCode, signal: null });
    }),
  );
  return { pid, exited };
}
