// Starts one process for a service, in a session and process group of its
// own, as its user, and reports its end once, as an exit code or a signal.
// Plain services are spawned by src/pid1's addon (no fork of the init's
// memory; killed by the kernel if the init dies) and their exit comes from
// the reaper; services with a terminal go through node-pty, whose pids are
// registered as owned so the reaper never steals their status.
import { statSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { createRequire } from 'node:module';
import type { Writable } from 'node:stream';
import { decodeWaitStatus, notifyChildEvent, owned, spawnNative, watchExit, type NativeSpawn } from '../pid1/index.js';
import { findProgram, isFile, programCandidates } from '../unix/find-program.js';
import type { Launch } from './launch.js';
import { errnoName } from '../unix/errno.js';
import { signalName } from '../unix/signals.js';
import type { ResolvedUser } from './users.js';
import type { Joined, OomKill } from '../resources/limiter.js';

/** WATCHDOG_PID's value in a request: the native spawn (spawn.c) writes the child's own pid over it before exec. */
export const WATCHDOG_PID_PLACEHOLDER = '__________';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  reason?: string; // why it could not start, when it never ran
  /** why the init ended it (a failed liveness check, not ready in time): then it is a failure whatever its code */
  cause?: string;
  /** a liveness failure: restart it whatever its restart policy says */
  restartAnyway?: boolean;
  /** the kernel's OOM killer ended it, or the watcher at its memory limit */
  oom?: OomKill;
  /** its watchdog ran out: the init ended it */
  watchdog?: boolean;
}

export interface Running {
  pid?: number; // undefined when it never started
  exited: Promise<Exit>;
  /** resolves once the service reports ready (notification fd, READY=1, or a probe); absent when it has no readiness check */
  ready?: Promise<void>;
  /** notify readiness: `extend(ms)` is called when the service asks for `ms` more to get ready (EXTEND_TIMEOUT_USEC) */
  onExtend?: (extend: (ms: number) => void) => void;
  /** a watchdog: `missed(cause)` is called when WATCHDOG=1 stops coming */
  onWatchdog?: (missed: (cause: string) => void) => void;
}

/** What a launch execs, as the addon takes it: its program (found in PATH), its argv and its environment's strings. */
export interface Exec {
  file: string;
  argv: string[];
  env: string[];
}

/** The exec of `launch`, or why it cannot run; made ahead of the spawn when it can be (a job's run, at its early wake). */
export function execOf(launch: Launch): Exec | Exit {
  const program = programToExec(launch);
  return typeof program === 'string' ? { file: program, argv: [launch.file, ...launch.args], env: environmentList(launch.env) } : program;
}

export interface SpawnOptions {
  /** the fd the child gets as stdin; /dev/null when absent */
  input?: number;
  /** one more descriptor (a readiness notification pipe) */
  extraFd?: NativeSpawn['extraFd'];
  /** the cgroups it is in from its first instruction */
  joined?: Joined;
  /** its execOf, if made ahead */
  exec?: Exec | Exit;
  /** the child runs before the init goes on (a job's run, due now) */
  childFirst?: boolean;
}

/** Spawns `launch` with `output` (an fd: ours, a logger's pipe, or the relay's pipes) as its stdout and stderr. */
export function spawnProcess(launch: Launch, output: number | { stdout: number; stderr: number }, opts: SpawnOptions = {}): Running {
  const { input, extraFd, joined, childFirst, exec = execOf(launch) } = opts;
  if ('code' in exec) return { exited: Promise.resolve(exec) };
  const program = exec.file;
  const fds = typeof output === 'number' ? { output } : { output: output.stdout, error: output.stderr };
  const request = { file: program, argv: exec.argv, env: exec.env, cwd: launch.cwd, input, user: launch.user, extraFd, cgroupProcs: joined?.procsFds, childFirst, ...fds };
  let result = spawnNative(request);
  // execvp's rule, which execve lacks: a file with no #! line is a shell script
  if ('errno' in result && result.errno === osConstants.errno.ENOEXEC) result = spawnNative({ ...request, file: '/bin/sh', argv: ['/bin/sh', program, ...launch.args] });
  if ('errno' in result && result.cgroup !== undefined) return { exited: Promise.resolve({ code: 126, signal: null, reason: joined!.joinFailure(result.cgroup, result.errno) }) };
  if ('errno' in result) {
    const why = findExecutable(launch); // the diagnosis execvp's callers get, asked only once exec failed
    return { exited: Promise.resolve(typeof why === 'string' ? cannotExec(result.errno, program) : why) };
  }
  const { pid } = result;
  const exited = new Promise<Exit>((done) =>
    watchExit(pid, (status) => {
      const { code, signal } = decodeWaitStatus(status);
      done({ code, signal: signal === null ? null : (signalName(signal) ?? 'SIGKILL') });
    }),
  );
  return { pid, exited };
}

/** `KEY=value` strings of an environment, made once per environment object (services that add nothing share one, see launch.ts). */
const lists = new WeakMap<Record<string, string>, string[]>();
function environmentList(env: Record<string, string>): string[] {
  let list = lists.get(env);
  if (!list) {
    list = Object.entries(env).map(([k, v]) => `${k}=${v}`);
    if (Object.isFrozen(env)) lists.set(env, list);
  }
  return list;
}

/**
 * What to exec: a path as it is (execve itself says whether it runs, and as
 * the service's user, where a check by the init would ask as root), a bare
 * name looked up in the service's PATH. Stat calls for every one of 1,000
 * services cost ~25 ms of a start burst.
 */
function programToExec(launch: Launch): string | Exit {
  if (!launch.file.includes('/') || launch.cwd) return findExecutable(launch);
  // an absolute path goes to execve as written (path.resolve costs ~7 us a service under --lite-mode)
  return launch.file.startsWith('/') ? launch.file : programCandidates(launch.file, launch.env.PATH)[0];
}

/** The program's path, as execvp would find it in the service's PATH, or why it cannot run (127 not found, 126 not executable). */
function findExecutable(launch: Launch): string | Exit {
  const { file, cwd, env } = launch;
  if (cwd && !isDirectory(cwd)) return { code: 126, signal: null, reason: `working directory ${cwd} does not exist` };
  const found = findProgram(file, env.PATH, cwd);
  if (found) return found;
  // like execvp: a file that exists but cannot be executed is 126, not "not found"
  const unrunnable = programCandidates(file, env.PATH, cwd).find(isFile);
  if (unrunnable) return { code: 126, signal: null, reason: `program '${unrunnable}' is not executable (permission denied)` };
  return { code: 127, signal: null, reason: `program '${file}' not found${file.includes('/') ? '' : ` in PATH=${env.PATH ?? ''}`}` };
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** A failed exec of a program that exists: most often a #! interpreter that does not. */
function cannotExec(errno: number, program: string): Exit {
  const name = errnoName(errno);
  const hint = name === 'ENOENT' ? ' (is the interpreter on its #! line missing?)' : '';
  return { code: name === 'ENOENT' ? 127 : 126, signal: null, reason: `cannot execute '${program}': ${name}${hint}` };
}

interface Pty {
  pid: number;
  onData(cb: (data: string) => void): void;
  onExit(cb: (e: { exitCode: number; signal?: number }) => void): void;
  pause(): void;
  resume(): void;
}

/**
 * node-pty forks by itself, so the user switch and the parent-death signal
 * (re-armed by setpriv after the switch, which clears it) take an exec of
 * setpriv.
 */
function setprivArgs(user: ResolvedUser | undefined): string[] {
  const switchUser = user
    ? ['--reuid', String(user.uid), '--regid', String(user.gid), ...(user.groups.length ? ['--groups', user.groups.join(',')] : ['--clear-groups'])]
    : [];
  return [...switchUser, '--pdeathsig', 'KILL'];
}

/** Runs a service under a pseudo-terminal; node-pty is loaded only for services that ask for one. */
export function spawnWithTerminal(launch: Launch, output: Writable): Running {
  const program = findExecutable(launch);
  if (typeof program !== 'string') return { exited: Promise.resolve(program) };
  const pty = createRequire(import.meta.url)('node-pty') as {
    spawn(file: string, args: string[], opts: object): Pty;
  };
  let term: Pty;
  try {
    const [file, args] = launch.setpriv ? [launch.setpriv, [...setprivArgs(launch.user), '--', program, ...launch.args]] : [program, launch.args];
    term = pty.spawn(file, args, { name: 'xterm', cols: 120, rows: 40, cwd: launch.cwd ?? process.cwd(), env: launch.env });
  } catch (err) {
    return { exited: Promise.resolve({ code: 126, signal: null, reason: `cannot start a terminal for '${program}': ${(err as Error).message}` }) };
  }
  owned.add(term.pid);
  // a slow reader pauses the terminal instead of growing our memory
  let paused = false;
  term.onData((data) => {
    if (output.writableEnded || output.write(data) || paused) return;
    paused = true;
    term.pause();
    output.once('drain', () => {
      paused = false;
      term.resume();
    });
  });
  const pid = term.pid;
  const exited = new Promise<Exit>((done) =>
    term.onExit(({ exitCode, signal }) => {
      owned.delete(pid);
      notifyChildEvent();
      done(signal ? { code: null, signal: signalName(signal) ?? 'SIGKILL' } : { code: exitCode, signal: null });
    }),
  );
  return { pid, exited };
}
