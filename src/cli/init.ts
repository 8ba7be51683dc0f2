// `berth init [STATE_DIR] [--manifest FILE]`: the PID-1 supervisor.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readSessionMarks } from '../control/dead-init.js';
import { describeLeftovers, findLeftovers } from '../procfs/leftovers.js';
import { acquireStateDir, CONTROL_SOCKET, DEFAULT_STATE_DIR, fallbackStateDirs, StateDirError, StateDirInUse, type StateDir } from '../control/state-dir.js';
import { setInitLogging } from '../logs/index.js';
import { formatProblem, loadManifest, plan as planOf } from '../manifest/index.js';
import { parseDuration } from '../manifest/duration.js';
import { LISTEN_HINT, parseListen } from '../manifest/listen.js';
import { becomeSubreaper, collectStartupGarbage, exitOnStopSignals, isPid1, killAll, loadNative, lockFile, startReaper, stopProcesses, withholdInheritedFds } from '../pid1/index.js';
import { reserveDescriptors } from '../native/fds.js';
import { findProgram } from '../unix/find-program.js';
import { flushLog, log } from '../logs/init-log.js';
import type { StatusPage } from '../control/http.js';
import { ControlAnswers } from '../supervisor/control-handler.js';
import { Supervisor } from '../supervisor/supervisor.js';
import { UserDatabase, type ResolvedUser } from '../launch/users.js';
import { configure } from '../config/configure.js';
import { redact } from '../config/redact.js';
import { writeFiles } from '../config/rendered-files.js';
import { parseArgs, UsageError } from './args.js';
import { DEFAULT_MANIFEST, manifestPath as manifestFrom } from './locations.js';

const DEFAULT_GRACE_MS = 3000;
/**
 * How long after the last stage the init collects start-up's garbage: the
 * children of a burst are still starting then, and the collection (~10 ms
 * with 100 services, ~19 with 1,000) would take CPU from them.
 */
const SETTLE_MS = 1000;

export const usage = `berth init [STATE_DIR] [--manifest FILE] [-- COMMAND [ARG...]]
  Runs the manifest's services: oneshot-pre tasks, then long-runs, then oneshot-post tasks.
  With a COMMAND (the container's CMD), runs it as the main program once every long-run
  is ready, with the container's stdin and terminal; its exit code ends the run.
  STATE_DIR   default $BERTH_STATE_DIR, then ${DEFAULT_STATE_DIR}
  --manifest  default $BERTH_MANIFEST, then ${DEFAULT_MANIFEST}
  Environment (s6-overlay's names where they map):
    S6_KILL_GRACETIME            ms a service, then what is left, gets after SIGTERM (default ${DEFAULT_GRACE_MS})
    S6_SERVICES_GRACETIME        ms a service gets after its stop signal (default: S6_KILL_GRACETIME)
    S6_DONT_TERMINATE_ON_ERROR   set: a failure is reported and the init keeps running
    S6_BEHAVIOUR_IF_STAGE2_FAILS 2 (default): a failed oneshot ends the run; 1: go on with a warning; 0: go on
    S6_VERBOSITY                 0 errors, 1 and warnings, 2 (default) and every transition
    S6_CMD_WAIT_FOR_SERVICES_MAXTIME  ms the COMMAND waits for the services to be ready (0, default: no limit)
    BERTH_PRESTOP_DELAY          on SIGTERM, stay up (not ready) this long before stopping (ms or 5s)
    BERTH_HTTP                   HOST:PORT for the status page (/), /healthz, /readyz, /metrics`;

/** Refuses to start (exit 2) with a message, before any service runs. */
class NotStarted extends Error {}

export async function initCommand(args: string[]): Promise<number> {
  // everything after `--` is the main command (the container's CMD)
  const dashes = args.indexOf('--');
  const main = dashes === -1 ? undefined : args.slice(dashes + 1);
  if (main && main.length === 0) throw new UsageError('name a COMMAND after --');
  const { positionals, flags } = parseArgs(dashes === -1 ? args : args.slice(0, dashes), ['--manifest']);
  if (positionals.length > 1) throw new UsageError('init takes at most one STATE_DIR');
  const stateDirPath = positionals[0] ?? (process.env.BERTH_STATE_DIR || DEFAULT_STATE_DIR);
  const flag = flags.get('--manifest') as string | undefined;
  const manifestPath = manifestFrom(flag);
  const manifestSource = flag !== undefined ? 'given with --manifest' : process.env.BERTH_MANIFEST ? 'from BERTH_MANIFEST' : 'the default';
  try {
    return await run(stateDirPath, manifestPath, manifestSource, main);
  } catch (err) {
    if (err instanceof NotStarted || err instanceof StateDirError) {
      process.stderr.write(`berth init: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

/** `manifestSource`: where its path came from, for the message when there is no file. */
async function run(stateDirPath: string, manifestPath: string, manifestSource: string, main: string[] | undefined): Promise<number> {
  // As PID 1 a signal with no handler is dropped, and a JS handler would wait
  // for the manifest to be read: a stop that comes while we prepare ends the
  // init at once (nothing runs yet) until the supervisor takes the signals over.
  try {
    loadNative();
    exitOnStopSignals('berth init: ', ' before any service started; exiting\n');
  } catch (err) {
    throw new NotStarted((err as Error).message);
  }
  const killGraceMs = msFromEnv('S6_KILL_GRACETIME', DEFAULT_GRACE_MS);
  const graceMs = msFromEnv('S6_SERVICES_GRACETIME', killGraceMs);
  const stopDelayMs = msFromEnv('BERTH_PRESTOP_DELAY', 0, true);
  const oneshotFailures = stage2FromEnv();
  const { manifest, problems } = await loadManifest(manifestPath);
  if (!manifest) {
    for (const p of problems) process.stderr.write(`${formatProblem(p)}\n`);
    if (problems.length === 1 && !existsSync(manifestPath)) throw new NotStarted(`no manifest at ${manifestPath} (${manifestSource}); name one with --manifest FILE or BERTH_MANIFEST=FILE; nothing was started`);
    throw new NotStarted(`${manifestPath} does not validate (${problems.length} problem${problems.length === 1 ? '' : 's'}); nothing was started`);
  }
  setInitLogging(manifest.logging);
  const plan = planOf(manifest);
  const httpListen = process.env.BERTH_HTTP || manifest.http?.listen;
  if (httpListen && !parseListen(httpListen)) throw new NotStarted(`BERTH_HTTP must be ${LISTEN_HINT}, not '${httpListen}'`);
  const services = [...plan.pre, ...plan.longRuns, ...plan.post];
  const users = resolveUsers(services);
  const inherited = withholdInheritedFds();
  if (inherited) log(`warning: ${inherited}; services may get descriptors the init was started with`);
  reserveDescriptors(services.length);
  const setpriv = setprivForTerminals(services);
  // BERTH_DEBUG=1 says what the configuration stage cost (its reads here, its writes below)
  const debugFrom = process.env.BERTH_DEBUG ? performance.now() : 0;
  const configured = configure(manifest, [...services, ...plan.jobs]);
  const configureMs = debugFrom ? performance.now() - debugFrom : 0;
  if ('problems' in configured) throw new NotStarted(`${configured.problems.join('\n')}\nnothing was started`);

  process.on('exit', flushLog);
  const { stateDir, staleSessions } = takeStateDir(stateDirPath);
  await stopLeftovers(staleSessions, graceMs);
  if (!isPid1) {
    try {
      becomeSubreaper();
    } catch (err) {
      log(`warning: ${(err as Error).message}; processes that services leave behind may escape`);
    }
  }
  startReaper();
  // written once the state dir is ours, before the first oneshot-pre
  const writeFrom = debugFrom ? performance.now() : 0;
  const unwritten = writeFiles(configured.rendered, fileOwner).problems;
  if (unwritten.length) throw new NotStarted(`${unwritten.join('\n')}\nnothing was started`);
  if (debugFrom) log(`debug: configuration stage ${(configureMs + performance.now() - writeFrom).toFixed(2)} ms (${configured.rendered.length} file${configured.rendered.length === 1 ? '' : 's'} rendered)`);
  // Whatever ends this process, no service outlives it. As PID 1 only an exit
  // can end it (the kernel drops signals it has no handler for), and
  // signal-exit's handlers would turn a stray SIGQUIT into a dead container.
  if (isPid1) process.on('exit', () => killAll('SIGKILL'));
  else (await import('signal-exit')).onExit(() => killAll('SIGKILL'), { alwaysLast: true });

  let ready!: (value: unknown) => void;
  const controlReady = new Promise((resolve) => (ready = resolve));
  const supervisor = new Supervisor({
    plan,
    env: configured.environment.base,
    serviceEnv: configured.environment.perService,
    users,
    setpriv,
    graceMs,
    killGraceMs,
    stopDelayMs,
    oneshotFailures,
    main,
    mainWaitMs: msFromEnv('S6_CMD_WAIT_FOR_SERVICES_MAXTIME', 0),
    dontTerminate: process.env.S6_DONT_TERMINATE_ON_ERROR !== undefined,
    stateDir,
    manifest: manifestPath,
    controlReady,
    // start-up's garbage goes soon, not in idle time (V8's memory reducer is off)
    afterStages: () => setTimeout(collectStartupGarbage, SETTLE_MS).unref(),
  });

  const answers = new ControlAnswers(supervisor, async () => {
    const next = await loadManifest(manifestPath);
    if (!next.manifest) return { problems: next.problems.map(formatProblem) };
    const nextPlan = planOf(next.manifest);
    try {
      const nextServices = [...nextPlan.pre, ...nextPlan.longRuns, ...nextPlan.post];
      reserveDescriptors(nextServices.length);
      const users = resolveUsers(nextServices);
      const again = configure(next.manifest, [...nextServices, ...nextPlan.jobs]);
      if ('problems' in again) return { problems: again.problems };
      // the files again: a service that watches one that changed hears of it
      const unwrittenNow = writeFiles(again.rendered, fileOwner).problems;
      if (unwrittenNow.length) return { problems: unwrittenNow };
      return { plan: nextPlan, users, environment: again.environment };
    } catch (err) {
      return { problems: (err as Error).message.split('\n') };
    }
  });

  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => supervisor.requestStop(sig));
  for (const sig of ['SIGHUP', 'SIGUSR1', 'SIGUSR2'] as const) process.on(sig, () => supervisor.forward(sig));
  log(`init started (pid ${process.pid}${isPid1 ? ', PID 1' : ''}), manifest ${manifestPath}, state dir ${stateDir?.dir ?? 'none'}`);
  // A child handed the init's own stdout (passthrough, an execLogger) shares
  // its file description: Node sets O_NONBLOCK on it when it opens
  // process.stdout, so that must come first, for the spawn to clear it.
  const sharesStdout = services.some((s) => s.execLogger !== undefined || s.logging.format === 'passthrough');
  if (sharesStdout) guardStdout();
  const done = supervisor.run();
  // The first spawns happen in the microtasks run() started; what they do not
  // need (process.stdout, HTTP, the control channel, and node:net they load)
  // comes after them, one step per turn of the event loop: the reaper runs
  // between steps, as the first services may already be leaving orphans
  // under a pids limit.
  inTurns([
    () => sharesStdout || guardStdout(),
    () => httpListen && serveHttp(httpListen, answers),
    () => (stateDir ? serveControl(stateDir, answers, ready) : ready(undefined)),
  ]);
  return done;
}

/** Runs each step in a turn of the event loop of its own, in order. */
function inTurns(steps: Array<() => unknown>): void {
  const [step, ...rest] = steps;
  if (step) setImmediate(() => (step(), inTurns(rest)));
}

/** A reader that goes away must not take PID 1 down with an EPIPE. */
function guardStdout(): void {
  process.stdout.on('error', () => {});
}

function serveHttp(listen: string, answers: ControlAnswers): void {
  // the status page's module only once someone asks for it
  const page = (): Promise<StatusPage> =>
    import('../page/status-page.js').then((m) => {
      if (process.env.BERTH_DEBUG) log('debug: status page loaded, on its first request');
      return m.statusPage(answers, redact);
    });
  import('../control/http.js')
    .then((m) => m.serveHttp(listen, () => answers.healthView(), page))
    .then(() => log(`serving /healthz, /readyz and /metrics on ${listen}, and the status page at /`))
    .catch((err: Error) => log(`warning: HTTP endpoint off: cannot listen on ${listen}: ${err.message}`));
}

function serveControl(stateDir: StateDir, answers: ControlAnswers, ready: (value: unknown) => void): void {
  const socket = join(stateDir.dir, CONTROL_SOCKET);
  import('../control/server.js')
    .then((m) => m.serveControl(socket, answers))
    .catch((err: Error) => log(`warning: control channel off (${socket}: ${err.message}); berth status and the control commands cannot reach this init`))
    .finally(() => ready(undefined));
}

/**
 * The state dir, or where the init may not write it (any uid, a read-only
 * root) ${TMPDIR:-/tmp}/berth-UID, then /dev/shm/berth-UID, or none at all: the services run either
 * way, and the log says which dir was tried and which is used. A dir a live
 * init owns is never fallen back from: that is exit 2.
 */
function takeStateDir(path: string): { stateDir?: StateDir; staleSessions: ReturnType<typeof readSessionMarks> } {
  const warn = (message: string): void => log(`warning: ${message}`);
  const tried: string[] = [];
  for (const dir of [path, ...fallbackStateDirs()]) {
    // read before taking the dir clears them: the sessions a dead owner's services ran in
    const staleSessions = readSessionMarks(dir);
    try {
      const stateDir = acquireStateDir(dir, lockFile, warn);
      if (tried.length) log(`${tried.join('; ')}; using state dir ${dir} instead`);
      return { stateDir, staleSessions };
    } catch (err) {
      if (err instanceof StateDirInUse) throw err;
      tried.push((err as Error).message);
    }
  }
  log(`warning: ${tried.join('; ')}; running without a state dir: berth status and the control commands cannot reach this init`);
  return { staleSessions: [] };
}

/** What a previous init of this state dir left running when it died (SIGKILL, abort) goes before anything starts. */
async function stopLeftovers(sessions: ReturnType<typeof readSessionMarks>, graceMs: number): Promise<void> {
  if (!sessions.length) return; // the last init exited cleanly: no /proc to read
  const leftovers = findLeftovers(sessions);
  if (!leftovers.length) return;
  const { killed } = await stopProcesses(leftovers, graceMs);
  log(`stopped ${describeLeftovers(leftovers)} that the previous init of this state dir left running${killed ? `; ${killed} needed SIGKILL` : ''}`);
}

/** A time from the environment: whole milliseconds, or (where `units`) a duration like 5s. */
function msFromEnv(name: string, fallback: number, units = false): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const ms = /^\d+$/.test(raw) ? Number(raw) : units ? parseDuration(raw) : undefined;
  if (ms === undefined) throw new NotStarted(`${name} must be a whole number of milliseconds${units ? ' or a duration like 5s' : ''}, not '${raw}'`);
  return ms;
}

function stage2FromEnv(): 0 | 1 | 2 {
  const raw = process.env.S6_BEHAVIOUR_IF_STAGE2_FAILS;
  if (raw === undefined || raw === '') return 2;
  if (raw !== '0' && raw !== '1' && raw !== '2') throw new NotStarted(`S6_BEHAVIOUR_IF_STAGE2_FAILS must be 0, 1 or 2, not '${raw}'`);
  return Number(raw) as 0 | 1 | 2;
}

/**
 * node-pty forks services with a terminal itself: setpriv switches their user
 * and arms their parent-death signal. Required with a user; without one, such
 * a service just would not die with a SIGKILLed init (the next init stops it).
 */
function setprivForTerminals(services: { name: string; tty: boolean; user?: string }[]): string | undefined {
  const terminals = services.filter((s) => s.tty);
  if (!terminals.length) return undefined;
  const setpriv = findProgram('setpriv', process.env.PATH);
  if (setpriv) return setpriv;
  const withUser = terminals.filter((s) => s.user !== undefined).map((s) => s.name);
  if (withUser.length) throw new NotStarted(`services with a terminal and a user (${withUser.join(', ')}) need setpriv (util-linux) on PATH, and it is not there`);
  log(`warning: no setpriv on PATH: ${terminals.map((s) => s.name).join(', ')} (tty) will not be killed with the init if it is SIGKILLed`);
  return undefined;
}

function resolveUsers(services: { name: string; user?: string }[]): Map<string, ResolvedUser> {
  const users = new Map<string, ResolvedUser>();
  const withUser = services.filter((s) => s.user !== undefined);
  if (!withUser.length) return users;
  const uid = process.getuid?.();
  if (uid !== 0) {
    const lines = withUser.map((s) => `services.${s.name}.user: switching to user '${s.user}' needs the init to run as root (it runs as uid ${uid}); drop 'user' or run the container as root`);
    throw new NotStarted(`${lines.join('\n')}\nnothing was started`);
  }
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

/**
 * What services' environments are made of (dotenv files, FILE__ variables, secret files) and the manifest's files
 * rendered over it: every problem at once, before anything starts. The secret values are masked from then on.
 */
/** A rendered file's owner and group as ids; a group alone goes with the init's own user. */
function fileOwner(owner: string | undefined, group: string | undefined): { uid: number; gid: number } | string {
  try {
    const user = new UserDatabase().resolve(`${owner ?? String(process.getuid?.() ?? 0)}${group === undefined ? '' : `:${group}`}`);
    return { uid: user.uid, gid: user.gid };
  } catch (err) {
    return (err as Error).message;
  }
}
