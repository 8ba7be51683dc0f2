// Everything that makes a process for a service: the exact launch (program,
// environment, user), its output (the relay, an execLogger, a terminal),
// its readiness and liveness checks and the commands they run. The runner
// asks it for processes; it decides nothing about their lifecycle.
import { closeSync, openSync } from 'node:fs';
import type { Service } from '../manifest/index.js';
import type { RunCommand } from '../health/probe.js';
import { serviceLogs, stdoutSink, type Capture, type ServiceLog, type Sink } from '../logs/index.js';
import { log } from '../logs/init-log.js';
import { makePipe } from '../native/fds.js';
import { NotifyChannel } from '../notify/channel.js';
import { ContainerOom } from '../resources/container-oom.js';
import type { Joined, Limiter, LimitFields, OomKill } from '../resources/limiter.js';
import { signalGroup } from '../unix/signals.js';
import { ExecLogger } from './exec-logger.js';
import { buildLaunch, type Launch, type ServiceEnvironment } from './launch.js';
import type { RunSignal } from './run-signal.js';
import { execOf, spawnProcess, spawnWithTerminal, WATCHDOG_PID_PLACEHOLDER, type Exec, type Exit, type Running } from './spawn.js';
import type { ResolvedUser } from './users.js';

export interface LauncherOptions {
  env: NodeJS.ProcessEnv;
  /** resolved `user:` of each service that has one */
  users: Map<string, ResolvedUser>;
  /** absolute path of setpriv, when a service with a terminal needs it */
  setpriv?: string;
  /** every service of the manifest: the output kept of each */
  services: Service[];
  /** what each service's own dotenv and secret files add (src/config/environment.ts) */
  serviceEnv?: Map<string, ServiceEnvironment>;
  /** makes what keeps the services' `resources:`; undefined when none has any (asked again at a reload) */
  limits?: (services: Service[]) => Limiter | undefined;
}

export class Launcher {
  /** what every service's environment starts from, read once (process.env is a slow proxy over the C environment); a reload may bring a new one */
  env: Record<string, string>;
  private serviceEnv?: Map<string, ServiceEnvironment>;
  private users: Map<string, ResolvedUser>;
  private readonly loggers = new Map<string, ExecLogger>();
  private readonly kept: Map<string, ServiceLog>;
  /** the sd_notify socket of each service with notify readiness, made at its first start */
  private readonly channels = new Map<string, NotifyChannel>();
  private limiter?: Limiter;
  /** the OOM kill count of the init's own memory cgroup (the container's), read again at an exit by SIGKILL */
  private readonly oomCounter = ContainerOom.open();
  /** the next process of a service, made ahead (prepare), with what it was made from */
  private readonly ahead = new WeakMap<Service, Ahead>();

  constructor(private readonly opts: LauncherOptions) {
    this.env = snapshotEnv(opts.env);
    this.serviceEnv = opts.serviceEnv;
    this.users = opts.users;
    this.kept = serviceLogs(opts.services);
    this.limiter = opts.limits?.(opts.services);
  }

  spawn(svc: Service, run: RunSignal): Running {
    const limiter = this.limiter;
    const joined = limiter?.join(svc);
    if (typeof joined === 'string') return { exited: Promise.resolve({ code: 126, signal: null, reason: `cannot make its cgroup: ${joined}` }) };
    const running = this.start(svc, run, joined);
    if (running.pid === undefined) return running;
    // node-pty forks and execs by itself: its process can only be moved in once it runs
    const unmoved = limiter?.started(svc, running.pid, svc.tty ? joined : undefined);
    if (unmoved) log(`warning: ${svc.name}: cannot move its process into its cgroup (${unmoved}); its limits do not hold for this run`);
    return {
      ...running,
      exited: running.exited.then((exit) => {
        // the container's count is read at every SIGKILL, so a kill its own cgroup explains is not laid at the next one's door
        const container = this.containerOom(exit);
        return withOom(exit, limiter?.ended(svc, joined, exit.signal) ?? container);
      }),
    };
  }

  /**
   * Makes the exact launch and exec of the service's next process now (a
   * job's, at the scheduler's early wake): at its due time only the pipes and
   * the spawn are left. After a minute idle, that work cost a run ~0.3 ms.
   */
  prepare(svc: Service): void {
    try {
      const launch = this.launchOf(svc);
      this.ahead.set(svc, { launch, exec: execOf(launch), env: this.env, users: this.users, serviceEnv: this.serviceEnv });
    } catch {
      // nothing made ahead: the spawn makes it at the due time, and says what is wrong as any start does
      this.ahead.delete(svc);
    }
  }

  /** What prepare made for this spawn, unless a reload changed what it was made from since; used once. */
  private takeAhead(svc: Service): Ahead | undefined {
    const ahead = this.ahead.get(svc);
    this.ahead.delete(svc);
    return ahead && ahead.env === this.env && ahead.users === this.users && ahead.serviceEnv === this.serviceEnv ? ahead : undefined;
  }

  private start(svc: Service, run: RunSignal, joined: Joined | undefined): Running {
    let capture: Capture | undefined;
    let notify: { read: number; write: number } | undefined;
    try {
      const channel = this.channel(svc);
      // a service with a notify socket gets its address in its environment: not made ahead
      const ahead = channel ? undefined : this.takeAhead(svc);
      const launch = channel ? withNotifySocket(this.launchOf(svc), channel, svc.watchdogMs, !svc.tty) : (ahead?.launch ?? this.launchOf(svc));
      const logger = this.logger(svc);
      const kept = this.kept.get(svc.name)!;
      // relayed (unless passthrough): through the init's own pipes, to the logger (which gets the lines unformatted) or stdout
      const loggerSink = kept.recent ? logger?.sink() : undefined;
      // stdout's sink (process.stdout, and node:net with it) only once a line comes
      const sink = (): Sink => loggerSink ?? stdoutSink();
      if (svc.tty) {
        const out = kept.recent ? kept.writable(sink(), logger !== undefined) : (logger?.output() ?? process.stdout);
        return this.withReadiness(svc, spawnWithTerminal(launch, out), run, { channel });
      }
      capture = kept.recent ? kept.capture(sink, logger !== undefined) : undefined;
      // s6's notification-fd: the service gets a pipe's write end as that fd, and writes a newline on it when ready
      const fd = svc.readiness?.kind === 'notification-fd' ? svc.readiness.fd : undefined;
      notify = fd === undefined ? undefined : makePipe();
      const running = spawnProcess(launch, capture ?? logger?.input() ?? 1, {
        extraFd: notify ? { source: notify.write, target: fd! } : undefined,
        joined,
        exec: ahead?.exec,
        childFirst: svc.type === 'scheduled',
      });
      capture?.spawned();
      if (notify) closeSync(notify.write);
      if (notify && running.pid === undefined) closeSync(notify.read);
      // its last lines go out before the [berth] line about its exit
      const relayed = capture ? { ...running, exited: running.exited.then((exit) => (capture!.exited(), exit)) } : running;
      return this.withReadiness(svc, relayed, run, { notifyFd: notify?.read, channel });
    } catch (err) {
      // an unknown user, or descriptors run out (ulimit -n): this start fails, reported and retried per the
      // restart policy, and what it had opened is closed
      capture?.abandon();
      if (notify) for (const end of [notify.read, notify.write]) closeSync(end);
      return { exited: Promise.resolve({ code: 126, signal: null, reason: (err as Error).message }) };
    }
  }

  watchLiveness(svc: Service, signal: AbortSignal, onUnhealthy: (why: string) => void): void {
    const liveness = svc.liveness!;
    void import('../health/liveness.js').then((m) => m.watchLiveness(liveness, signal, this.probeCommand(svc), onUnhealthy));
  }

  /** What the service said of itself through sd_notify (its record's statusText); empty when it does not use it. */
  reported(svc: Service): { statusText?: string | null; statusErrno?: number | null } {
    if (svc.readiness?.kind !== 'notify') return {};
    const channel = this.channels.get(svc.name);
    return { statusText: channel?.statusText ?? null, statusErrno: channel?.errno ?? null };
  }

  /** Its sd_notify socket, made now if it has none yet (throws when it cannot be); undefined when it does not use notify. */
  private channel(svc: Service): NotifyChannel | undefined {
    if (svc.readiness?.kind !== 'notify') return undefined;
    let channel = this.channels.get(svc.name);
    if (!channel) {
      channel = new NotifyChannel(svc.name);
      this.channels.set(svc.name, channel);
    }
    channel.open();
    return channel;
  }

  logger(svc: Service): ExecLogger | undefined {
    if (!svc.execLogger) return undefined;
    let logger = this.loggers.get(svc.name);
    if (!logger) {
      logger = new ExecLogger(svc.name, svc.execLogger, this.launchOf(svc).env);
      this.loggers.set(svc.name, logger);
    }
    return logger;
  }

  /** An exit by SIGKILL while the container's OOM count rose: the kernel's OOM killer, at a limit above the service's own. */
  private containerOom(exit: Exit): OomKill | undefined {
    return exit.signal === 'SIGKILL' && this.oomCounter?.rose() ? { by: 'kernel', limit: null } : undefined;
  }

  /** What the service's record says of its limits; empty when it has none. */
  limitFields(svc: Service): Partial<LimitFields> {
    return this.limiter?.fields(svc) ?? {};
  }

  /** The output kept of a service, for `berth logs`. */
  logs(name: string): ServiceLog {
    return this.kept.get(name)!;
  }

  /** A reload: the users and environment of the new manifest, and the output kept anew for services that are new or changed. */
  renew(users: Map<string, ResolvedUser>, fresh: Service[], environment?: { base: Record<string, string>; perService: Map<string, ServiceEnvironment> }): void {
    this.users = users;
    if (environment) {
      this.env = environment.base;
      this.serviceEnv = environment.perService;
    }
    this.limiter ??= this.opts.limits?.(fresh);
    for (const [name, kept] of serviceLogs(fresh)) this.kept.set(name, kept);
  }

  /** A service that is gone or changed: its execLogger ends; `removed`: its kept output goes too. */
  forget(name: string, removed: boolean): void {
    void this.limiter?.forget(name).then((problem) => problem && log(`warning: ${name}: its cgroup was not removed: ${problem}`));
    this.loggers.get(name)?.close();
    this.loggers.delete(name);
    // a changed definition starts with a socket of its own, if it still uses one
    this.channels.get(name)?.close();
    this.channels.delete(name);
    if (removed) this.kept.delete(name);
  }

  /** What services' environments are made of now. */
  environment(): { base: Record<string, string>; perService: Map<string, ServiceEnvironment> } {
    return { base: this.env, perService: this.serviceEnv ?? new Map() };
  }

  /** The services' cgroups removed, at the end; says what could not be. */
  async closeLimits(): Promise<void> {
    const problem = await this.limiter?.close();
    if (problem) log(`warning: cgroups left behind: ${problem}`);
  }

  /** Every execLogger gets EOF (its service is gone); resolves once they have all exited, having written what was left in their pipes. */
  closeLoggers(): Promise<unknown> {
    const loggers = [...this.loggers.values()];
    for (const l of loggers) l.close();
    return Promise.all(loggers.map((l) => l.exited()));
  }

  /** The exact program, arguments, environment and user for a service (or a probe command run as it). */
  private launchOf(svc: Service): Launch {
    return buildLaunch(svc, this.env, this.users.get(svc.name), this.opts.setpriv, this.serviceEnv?.get(svc.name));
  }

  /** Adds the readiness check to a running service; the health module loads only for services that have one. */
  private withReadiness(svc: Service, running: Running, run: RunSignal, via: { notifyFd?: number; channel?: NotifyChannel }): Running {
    const readiness = svc.readiness;
    if (!readiness || running.pid === undefined) return running;
    const { signal } = run;
    const probe = this.probeCommand(svc);
    // heard from now on, before the loop can read anything it sends
    const hearing = via.channel?.attach(running.pid, signal, svc.watchdogMs);
    const ready = import('../health/readiness.js').then((m) => m.whenReady(readiness, { notifyFd: via.notifyFd, notified: hearing?.ready, signal, run: probe }));
    return { ...running, ready, ...(hearing ? { onExtend: hearing.onExtend, onWatchdog: hearing.onWatchdog } : {}) };
  }

  /** Runs a probe's command as the service would run (its environment, user and directory), output discarded, killed at the timeout. */
  private probeCommand(svc: Service): RunCommand {
    return async (argv, timeoutMs) => {
      const launch = this.launchOf({ ...svc, argv });
      const running = spawnProcess(launch, devNull());
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        if (running.pid !== undefined) signalGroup(running.pid, 'SIGKILL');
      }, timeoutMs);
      const exit = await running.exited;
      clearTimeout(timer);
      return { ...exit, timedOut };
    };
  }
}

interface Ahead {
  launch: Launch;
  exec: Exec | Exit;
  env: Record<string, string>;
  users: Map<string, ResolvedUser>;
  serviceEnv?: Map<string, ServiceEnvironment>;
}

let devNullFd: number | undefined;
function devNull(): number {
  devNullFd ??= openSync('/dev/null', 'w');
  return devNullFd;
}

/**
 * The launch with NOTIFY_SOCKET, where sd_notify sends, and WATCHDOG_USEC
 * and WATCHDOG_PID where it has a watchdog. Its pid is known only in the
 * child, so WATCHDOG_PID goes as a placeholder the native spawn fills in
 * before exec (WATCHDOG_PID_PLACEHOLDER); node-pty's spawn cannot, so a
 * service with a terminal gets none, which sd_watchdog_enabled(3) takes as
 * "any process".
 */
function withNotifySocket(launch: Launch, channel: NotifyChannel, watchdogMs: number | undefined, pidKnown: boolean): Launch {
  const watchdog = watchdogMs ? { WATCHDOG_USEC: String(watchdogMs * 1000), ...(pidKnown ? { WATCHDOG_PID: WATCHDOG_PID_PLACEHOLDER } : {}) } : {};
  return { ...launch, env: { ...launch.env, NOTIFY_SOCKET: channel.address, ...watchdog } };
}

function snapshotEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}

function withOom(exit: Exit, oom: OomKill | undefined): Exit {
  return oom ? { ...exit, oom } : exit;
}
