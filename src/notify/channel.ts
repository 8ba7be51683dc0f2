// One service's end of systemd's notification protocol: its socket (made at
// its first start, kept across restarts so NOTIFY_SOCKET stays the same),
// whose messages are accepted (its own processes'), and what they say:
// READY=1 resolves the readiness the runner waits for, STATUS= is kept for
// its record, EXTEND_TIMEOUT_USEC= asks the runner for more time, and once
// it is ready, a watchdog (its own timer, like a liveness check's) tells the
// runner when WATCHDOG=1 stops coming. Anything
// else a sender gets is one [berth] line at most per LINE_EVERY_MS for each
// kind of problem, never a throw, never a wait.
import { log } from '../logs/init-log.js';
import { NotifySocket, type Datagram, MAX_DATAGRAM } from '../native/notify-socket.js';
import { parseNotification, type Notification } from './message.js';
import { isServiceProcess } from './sender.js';

/** A flood of refused messages says so once per this span, with a count of the rest. */
const LINE_EVERY_MS = 10_000;

/** sockaddr_un's sun_path holds 108 bytes with the NUL that '@' stands for. */
const MAX_ADDRESS = 107;

/** The kinds of message refused, each with a line of its own at most per LINE_EVERY_MS. */
type Problem = 'stranger' | 'oversized' | 'malformed' | 'main-pid';

/** What the runner hears from the current process besides READY=1. */
export interface Hearing {
  /** resolves at its first READY=1; never settles if it exits first */
  ready: Promise<void>;
  /** `extend(ms)` is called when it asks for `ms` more to get ready (from now) */
  onExtend(extend: (ms: number) => void): void;
  /** `missed(cause)` is called when its watchdog runs out (or it sent WATCHDOG=trigger) */
  onWatchdog(missed: (cause: string) => void): void;
}

interface Current {
  leader: number;
  main: number;
  ready: () => void;
  extend?: (ms: number) => void;
  missed?: (cause: string) => void;
  /** the watchdog's interval; 0: none. Armed from READY=1 on */
  watchdogMs: number;
  watchdog?: NodeJS.Timeout;
  /** READY=1 came: the watchdog runs from then on */
  isReady: boolean;
  reloading: boolean;
  stopping: boolean;
}

export class NotifyChannel {
  /** NOTIFY_SOCKET's value: an abstract name, unique to this init (two inits may share a network namespace, as a pod's containers do) */
  readonly address: string;
  /** the last STATUS= the service sent; null before any */
  statusText: string | null = null;
  /** the last ERRNO= it sent; null before any */
  errno: number | null = null;
  private socket?: NotifySocket;
  private current?: Current;
  /** per kind of problem: when its last line was said, and how many went unsaid since */
  private readonly lines = new Map<Problem, { at: number; unsaid: number }>();

  constructor(private readonly service: string) {
    const prefix = `@berth/${hex8()}${hex8()}/`;
    this.address = prefix + service.slice(0, MAX_ADDRESS - prefix.length);
  }

  /** The socket, made now if it is not yet; throws when it cannot be. */
  open(): void {
    this.socket ??= new NotifySocket(this.address, (d) => this.received(d));
  }

  /** The process `pid` (its session's leader) is the service's now: what it said before is forgotten, and only its own processes are heard. `watchdogMs`: its watchdog, 0 for none. */
  attach(pid: number, signal: AbortSignal, watchdogMs = 0): Hearing {
    this.statusText = null;
    this.errno = null;
    let resolve!: () => void;
    const ready = new Promise<void>((r) => (resolve = r));
    const current: Current = { leader: pid, main: pid, ready: resolve, watchdogMs, isReady: false, reloading: false, stopping: false };
    this.current = current;
    signal.addEventListener('abort', () => {
      clearTimeout(current.watchdog);
      if (this.current === current) this.current = undefined;
    }, { once: true });
    return { ready, onExtend: (extend) => (current.extend = extend), onWatchdog: (missed) => (current.missed = missed) };
  }

  close(): void {
    this.socket?.close();
    this.socket = undefined;
    clearTimeout(this.current?.watchdog);
    this.current = undefined;
  }

  private received(d: Datagram): void {
    const current = this.current;
    if (!current || !isServiceProcess(d.pid, current.main, current.leader)) {
      this.say('stranger', `refused a notification from pid ${d.pid || 'unknown'}: not one of ${this.service}'s processes`);
      return;
    }
    if (!d.data) {
      this.say('oversized', `${this.service}: ignored a notification of ${d.length} bytes (more than ${MAX_DATAGRAM})`);
      return;
    }
    const parsed = parseNotification(d.data);
    if ('problem' in parsed) {
      this.say('malformed', `${this.service}: ignored a malformed notification from pid ${d.pid}: ${parsed.problem}`);
      return;
    }
    this.act(current, parsed.ok);
  }

  private act(current: Current, n: Notification): void {
    // an empty STATUS= clears it, as systemd reads it
    if (n.status !== undefined) this.statusText = n.status || null;
    if (n.errno !== undefined) this.errno = n.errno;
    if (n.mainPid !== undefined && n.mainPid !== current.main) {
      // only a process of the service's own can become its main one: a sender cannot hand its voice to a stranger
      if (isServiceProcess(n.mainPid, current.main, current.leader)) current.main = n.mainPid;
      else this.say('main-pid', `${this.service}: ignored MAINPID=${n.mainPid}: not one of its processes`);
    }
    if (n.stopping && !current.stopping) {
      current.stopping = true;
      log(`${this.service}: says it is stopping`);
    }
    if (n.reloading && !current.reloading) {
      current.reloading = true;
      log(`${this.service}: says it is reloading`);
    }
    if (n.ready) {
      if (current.reloading && !n.reloading) log(`${this.service}: says it has reloaded`);
      current.reloading = n.reloading === true;
      current.isReady = true;
      current.ready();
    }
    if (n.extendTimeoutUs !== undefined) current.extend?.(Math.ceil(n.extendTimeoutUs / 1000));
    if (n.watchdogUs !== undefined) current.watchdogMs = Math.ceil(n.watchdogUs / 1000);
    if (n.watchdog === 'trigger') {
      clearTimeout(current.watchdog);
      current.missed?.('it sent WATCHDOG=trigger');
    } else if (current.isReady && (n.ready || n.watchdog === 'ping' || n.watchdogUs !== undefined)) {
      // the watchdog runs from READY=1 on (systemd's rule: from the end of start-up); each WATCHDOG=1 starts it over
      this.armWatchdog(current);
    }
  }

  private armWatchdog(current: Current): void {
    clearTimeout(current.watchdog);
    const ms = current.watchdogMs;
    if (ms > 0) current.watchdog = setTimeout(() => current.missed?.(`no WATCHDOG=1 within ${ms} ms`), ms);
  }

  /** One line now, or counted and said with the next line of its kind LINE_EVERY_MS later: a flood is a few lines. */
  private say(problem: Problem, line: string): void {
    const now = Date.now();
    const last = this.lines.get(problem);
    if (last && now - last.at < LINE_EVERY_MS) {
      last.unsaid++;
      return;
    }
    log(`warning: ${line}${last?.unsaid ? ` (and ${last.unsaid} more like it since the last such line)` : ''}`);
    this.lines.set(problem, { at: now, unsaid: 0 });
  }
}

/** Eight random hex digits: a name no other init picks, without loading node:crypto into PID 1 (the name guards nothing: senders are judged by their pid). */
function hex8(): string {
  return Math.floor(Math.random() * 0x1_0000_0000).toString(16).padStart(8, '0');
}
