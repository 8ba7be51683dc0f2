// Starts the init under test the way test/helpers/init.ts does: the built
// CLI, as PID 1 of a fresh PID namespace (unshare) or as a plain process,
// under a parent-death signal so nothing outlives the harness. Its stdout
// goes to the relay checker as it comes, never kept whole (a long soak
// relays gigabytes); the commands the driver runs go through `berthCli`.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { berth } from '../helpers/init.js';
import { sleep } from './soak.js';

export interface Exited {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Init {
  proc: ChildProcess;
  exited: Promise<Exited>;
  /** set once it exited */
  exit?: Exited;
  /** the init's pid on the host (the inner PID 1 under unshare) */
  pid: number;
  /** its last lines on stderr */
  stderr: string[];
}

export interface LaunchOptions {
  dir: string;
  stateDir: string;
  manifest: string;
  pid1: boolean;
  env: Record<string, string>;
  onStdout: (chunk: string) => void;
}

export async function launchInit(opts: LaunchOptions): Promise<Init> {
  const cli = [...berth, 'init', opts.stateDir, '--manifest', opts.manifest];
  const argv = opts.pid1 ? ['unshare', '--pid', '--fork', '--mount-proc', '--kill-child', ...cli] : cli;
  const proc = spawn('setpriv', ['--pdeathsig', 'KILL', ...argv], { cwd: opts.dir, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const stderr: string[] = [];
  proc.stdout!.setEncoding('latin1');
  proc.stdout!.on('data', opts.onStdout);
  proc.stderr!.setEncoding('latin1');
  proc.stderr!.on('data', (chunk: string) => {
    stderr.push(...chunk.split('\n').filter(Boolean));
    stderr.splice(0, Math.max(0, stderr.length - 40));
  });
  const exited = new Promise<Exited>((resolve) => proc.once('close', (code, signal) => resolve({ code, signal })));
  const init: Init = { proc, exited, pid: proc.pid!, stderr };
  void exited.then((e) => (init.exit = e));
  if (opts.pid1) init.pid = await innerPid(proc, exited);
  return init;
}

/** The pid of unshare's one child, the namespace's PID 1. */
async function innerPid(proc: ChildProcess, exited: Promise<Exited>): Promise<number> {
  let gone = false;
  void exited.then(() => (gone = true));
  const deadline = Date.now() + 30_000;
  while (!gone && Date.now() < deadline) {
    try {
      const words = readFileSync(`/proc/${proc.pid}/task/${proc.pid}/children`, 'latin1').trim();
      if (words) return Number(words.split(' ')[0]);
    } catch {
      // not forked yet
    }
    await sleep(10);
  }
  throw new Error('unshare did not start the init as PID 1');
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
  timedOut: boolean;
}

/** Runs `berth ARGS` to the end, SIGKILLed after `timeoutMs`. */
export function berthCli(args: string[], timeoutMs: number): Promise<CliResult> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const p = spawn(berth[0], [...berth.slice(1), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      p.kill('SIGKILL');
    }, timeoutMs);
    p.stdout!.on('data', (d) => (stdout += d));
    p.stderr!.on('data', (d) => (stderr += d));
    p.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - t0, timedOut });
    });
  });
}
