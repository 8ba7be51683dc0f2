// Runs the built `berth` CLI on real processes, either as a plain process or
// as PID 1 of a fresh PID namespace, and lets a test wait on its output.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitUntil } from './wait.js';

export { sleep, waitUntil } from './wait.js';

/** This checkout. */
export const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const berthBin = join(root, 'dist/src/cli/main.js');
/** The node flags of main.js's shebang: tests run Berth under the flags it ships with. */
export const berthFlags: string[] = readFileSync(berthBin, 'utf8').split('\n')[0].replace('#!/usr/bin/env -S node', '').trim().split(' ');
/** `berth` as its shebang runs it: node, its flags, main.js. */
export const berth: string[] = [process.execPath, ...berthFlags, berthBin];
const nodeLine = /^NODE='node (.*) \/opt\/berth\/(\S+)'$/m.exec(readFileSync(join(root, 'runtime/init'), 'utf8'));
/** What /init execs, from runtime/init's NODE='node FLAGS /opt/berth/ENTRY' line (the entry in this checkout); undefined without that line. */
export const initNode: { flags: string[]; entry: string } | undefined = nodeLine ? { flags: nodeLine[1].split(' '), entry: join(root, nodeLine[2]) } : undefined;

/** A temp dir for one test, removed by `cleanup`. */
export function tempDir(prefix = 'berth-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface Exited {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface InitRun {
  proc: ChildProcess;
  dir: string;
  stateDir: string;
  /** stdout and stderr so far */
  output(): string;
  /** resolves with the output once `pattern` appears in it (or, given a function, once it holds of the output) */
  waitFor(pattern: RegExp | string | ((output: string) => boolean), timeoutMs?: number): Promise<string>;
  exited: Promise<Exited>;
  /** the init's own pid on the host (the inner PID 1 under unshare) */
  initPid(): Promise<number>;
  signal(sig: NodeJS.Signals): Promise<void>;
  /** kills everything and removes the temp dir */
  cleanup(): Promise<void>;
}

export interface InitOptions {
  manifest: string | object; // YAML text, or an object written as JSON
  env?: Record<string, string | undefined>;
  pid1?: boolean;
  args?: string[];
  dir?: string;
  /** wraps the command line, e.g. to join a cgroup before exec */
  wrap?: (argv: string[]) => string[];
}

export function startInit(opts: InitOptions): InitRun {
  const dir = opts.dir ?? tempDir();
  const stateDir = join(dir, 'state');
  const manifestFile = join(dir, typeof opts.manifest === 'string' ? 'manifest.yaml' : 'manifest.json');
  writeFileSync(manifestFile, typeof opts.manifest === 'string' ? opts.manifest : JSON.stringify(opts.manifest));
  const cli = [berthBin, 'init', stateDir, '--manifest', manifestFile, ...(opts.args ?? [])];
  const env = { ...process.env, ...opts.env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  const base = [...berth, ...cli.slice(1)];
  const argv = opts.pid1 ? ['unshare', '--pid', '--fork', '--mount-proc', '--kill-child', ...base] : base;
  // the test's thread ends without cleanup (an ava timeout, a crash): what it started is killed with it, not left
  // running (through a wrapper only if the wrapper execs)
  const [file, ...args] = ['setpriv', '--pdeathsig', 'KILL', ...(opts.wrap ? opts.wrap(argv) : argv)];
  const proc = spawn(file, args, { env, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  return wrap(proc, dir, stateDir, !!opts.pid1);
}

function wrap(proc: ChildProcess, dir: string, stateDir: string, pid1: boolean): InitRun {
  let out = '';
  const watchers = new Set<() => void>();
  const started = new Set<number>();
  const onData = (d: Buffer): void => {
    out += d.toString('latin1');
    for (const m of d.toString('latin1').matchAll(/: started \(pid (\d+)\)/g)) if (!pid1) started.add(Number(m[1]));
    for (const w of watchers) w();
  };
  proc.stdout!.on('data', onData);
  proc.stderr!.on('data', onData);
  const exited = new Promise<Exited>((res) => proc.once('close', (code, signal) => res({ code, signal })));
  let done = false;
  void exited.then(() => {
    done = true;
    for (const w of watchers) w();
  });

  const run: InitRun = {
    proc,
    dir,
    stateDir,
    output: () => out,
    waitFor(pattern, timeoutMs = 15_000) {
      const hit = (): boolean => (typeof pattern === 'string' ? out.includes(pattern) : typeof pattern === 'function' ? pattern(out) : pattern.test(out));
      return new Promise((res, rej) => {
        const check = (): void => {
          if (hit()) finish(() => res(out));
          else if (done) finish(() => rej(new Error(`init exited before ${pattern} appeared; output:\n${out}`)));
        };
        const timer = setTimeout(() => finish(() => rej(new Error(`timed out waiting for ${pattern}; output:\n${out}`))), timeoutMs);
        const finish = (f: () => void): void => {
          clearTimeout(timer);
          watchers.delete(check);
          f();
        };
        watchers.add(check);
        check();
      });
    },
    exited,
    async initPid() {
      if (!pid1) return proc.pid!;
      const children = (): string => {
        try {
          return readFileSync(`/proc/${proc.pid}/task/${proc.pid}/children`, 'utf8').trim();
        } catch {
          return ''; // unshare gone, or still forking
        }
      };
      return Number((await waitUntil('unshare has forked the inner PID 1', () => children() || undefined, { timeoutMs: 2000, everyMs: 10 })).split(' ')[0]);
    },
    async signal(sig) {
      process.kill(await run.initPid(), sig);
    },
    async cleanup() {
      // what the init started goes too, even when a test killed the init itself
      for (const pid of started) {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      if (!done) {
        try {
          process.kill(await run.initPid(), 'SIGKILL');
        } catch {
          // gone
        }
        try {
          proc.kill('SIGKILL');
        } catch {
          // gone
        }
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return run;
}

/** Runs the CLI to completion (for validate and usage errors). */
export function runBerth(args: string[], opts: RunOptions = {}): Promise<Ran> {
  return run([...berth, ...args], opts);
}

/** The berth CLI behind a wrapper command: `setpriv --reuid …`, `nsenter …`, `unshare …`. */
export function runBerthVia(wrapper: string[], args: string[], opts: RunOptions = {}): Promise<Ran> {
  return run([...wrapper, ...berth, ...args], opts);
}

export interface RunOptions {
  cwd?: string;
  env?: Record<string, string>;
  /** written to its stdin, then closed; without it stdin is /dev/null */
  input?: string;
}
export type Ran = Exited & { stdout: string; stderr: string };

/** Runs a command to completion and collects its output. */
export function run([file, ...args]: string[], opts: RunOptions = {}): Promise<Ran> {
  return new Promise((res) => {
    const p = spawn(file, args, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout!.on('data', (d) => (stdout += d));
    p.stderr!.on('data', (d) => (stderr += d));
    p.once('close', (code, signal) => res({ code, signal, stdout, stderr }));
    if (opts.input !== undefined) p.stdin!.end(opts.input);
  });
}

/** The one-letter state of `pid` from /proc (R, S, Z…), or undefined when it is gone. */
export function procState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2];
  } catch {
    return undefined;
  }
}

/** True when `pid` exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  const state = procState(pid);
  return state !== undefined && state !== 'Z';
}

/** A service's state-dir record, or undefined while there is none (records are replaced atomically, never half-written). */
export function readRecord(stateDir: string, name: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(readFileSync(join(stateDir, 'services', `${name}.json`), 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** Reads a service's state-dir record once it satisfies `ok` (records are written just after the log line). */
export function waitForRecord(stateDir: string, name: string, ok: (r: Record<string, unknown>) => boolean, timeoutMs = 15_000): Promise<Record<string, unknown>> {
  let last: Record<string, unknown> | undefined;
  return waitUntil(
    `the record of ${name} matches`,
    () => {
      last = readRecord(stateDir, name);
      return last !== undefined && ok(last) && last;
    },
    { timeoutMs, describe: () => `last: ${JSON.stringify(last)}` },
  );
}
