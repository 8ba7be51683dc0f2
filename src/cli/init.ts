// `berth init [STATE_DIR] [--manifest FILE]`: the PID-1 supervisor.
import { join } from 'node:path';
import { acquireStateDir, CONTROL_SOCKET, DEFAULT_STATE_DIR, StateDirError } from '../control/state-dir.js';
import { setInitLogging } from '../logs/index.js';
import { formatProblem, loadManifest, plan as planOf } from '../manifest/index.js';
import { becomeSubreaper, isPid1, killAll, lockFile, startReaper } from '../pid1/index.js';
import { findProgram } from '../supervisor/find-program.js';
import { flushLog, log } from '../supervisor/log.js';
import { Supervisor } from '../supervisor/supervisor.js';
import { UserDatabase, type ResolvedUser } from '../supervisor/users.js';
import { parseArgs, UsageError } from './args.js';
import { DEFAULT_MANIFEST, manifestPath as manifestFrom } from './locations.js';

const DEFAULT_GRACE_MS = 3000;

export const usage = `berth init [STATE_DIR] [--manifest FILE]
  Runs the manifest's services: oneshot-pre tasks, then long-runs, then oneshot-post tasks.
  STATE_DIR   default $BERTH_STATE_DIR, then ${DEFAULT_STATE_DIR}
  --manifest  default $BERTH_MANIFEST, then ${DEFAULT_MANIFEST}
  Environment: S6_KILL_GRACETIME (ms, default ${DEFAULT_GRACE_MS}), S6_DONT_TERMINATE_ON_ERROR`;

/** Refuses to start (exit 2) with a message, before any service runs. */
class NotStarted extends Error {}

export async function initCommand(args: string[]): Promise<number> {
  const { positionals, flags } = parseArgs(args, ['--manifest']);
  if (positionals.length > 1) throw new UsageError('init takes at most one STATE_DIR');
  const stateDirPath = positionals[0] ?? (process.env.BERTH_STATE_DIR || DEFAULT_STATE_DIR);
  const manifestPath = manifestFrom(flags.get('--manifest') as string | undefined);
  try {
    return await run(stateDirPath, manifestPath);
  } catch (err) {
    if (err instanceof NotStarted || err instanceof StateDirError) {
      process.stderr.write(`berth init: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

async function run(stateDirPath: string, manifestPath: string): Promise<number> {
  // As PID 1 a signal with no handler is dropped: catch a stop request that
  // arrives while we prepare; nothing runs yet, so it just ends the init.
  const early = (sig: NodeJS.Signals): void => {
    process.stderr.write(`berth init: ${sig} before any service started; exiting\n`);
    process.exit(0);
  };
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, early);
  const graceMs = graceFromEnv();
  const { manifest, problems } = await loadManifest(manifestPath);
  if (!manifest) {
    for (const p of problems) process.stderr.write(`${formatProblem(p)}\n`);
    throw new NotStarted(`${manifestPath} does not validate (${problems.length} problem${problems.length === 1 ? '' : 's'}); nothing was started`);
  }
  setInitLogging(manifest.logging);
  const plan = planOf(manifest);
  const users = resolveUsers([...plan.pre, ...plan.longRuns, ...plan.post]);
  const setpriv = users.size ? findProgram('setpriv', process.env.PATH) : undefined;
  if (users.size && !setpriv) throw new NotStarted('services with `user` need setpriv (util-linux) on PATH, and it is not there');

  // a reader that goes away must not take PID 1 down with an EPIPE
  process.stdout.on('error', () => {});
  process.on('exit', flushLog);
  const stateDir = acquireStateDir(stateDirPath, lockFile, (message) => log(`warning: ${message}`));
  if (!isPid1) {
    try {
      becomeSubreaper();
    } catch (err) {
      log(`warning: ${(err as Error).message}; processes that services leave behind may escape`);
    }
  }
  startReaper();
  // Whatever ends this process, no service outlives it. As PID 1 only an exit
  // can end it (the kernel drops signals it has no handler for), and
  // signal-exit's handlers would turn a stray SIGQUIT into a dead container.
  if (isPid1) process.on('exit', () => killAll('SIGKILL'));
  else (await import('signal-exit')).onExit(() => killAll('SIGKILL'), { alwaysLast: true });

  // the control channel (and the net module) load after the first spawns, not before
  const socket = join(stateDirPath, CONTROL_SOCKET);
  let ready!: (value: unknown) => void;
  const controlReady = new Promise((resolve) => (ready = resolve));
  const supervisor = new Supervisor({
    plan,
    env: process.env,
    users,
    setpriv,
    graceMs,
    dontTerminate: process.env.S6_DONT_TERMINATE_ON_ERROR !== undefined,
    stateDir,
    manifest: manifestPath,
    controlReady,
  });

  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.off(sig, early);
    process.on(sig, () => supervisor.requestStop(sig));
  }
  for (const sig of ['SIGHUP', 'SIGUSR1', 'SIGUSR2'] as const) process.on(sig, () => supervisor.forward(sig));
  log(`init started (pid ${process.pid}${isPid1 ? ', PID 1' : ''}), manifest ${manifestPath}, state dir ${stateDirPath}`);
  const done = supervisor.run();
  import('../control/server.js')
    .then((m) => m.serveControl(socket, supervisor))
    .catch((err: Error) => log(`warning: control channel off (${socket}: ${err.message}); berth status and the control commands cannot reach this init`))
    .finally(() => ready(undefined));
  return done;
}

function graceFromEnv(): number {
  const raw = process.env.S6_KILL_GRACETIME;
  if (raw === undefined || raw === '') return DEFAULT_GRACE_MS;
  if (!/^\d+$/.test(raw)) throw new NotStarted(`S6_KILL_GRACETIME must be a whole number of milliseconds, not '${raw}'`);
  return Number(raw);
}

function resolveUsers(services: { name: string; user?: string }[]): Map<string, ResolvedUser> {
  const users = new Map<string, ResolvedUser>();
  const withUser = services.filter((s) => s.user !== undefined);
  if (!withUser.length) return users;
  const db = new UserDatabase();
  const errors: string[] = [];
  for (const svc of withUser) {
    try {
      users.set(svc.name, db.resolve(svc.user!));
    } catch (err) {
      errors.push(`services.${svc.name}.user: ${(err as Error).message}`);
    }
  }
  if (errors.length) throw new NotStarted(`${errors.join('\n')}\nnothing was started`);
  return users;
}
