// The state dir is a public interface (like s6's): an operator can `ls` and
// `cat` it without the CLI. Layout, documented in docs/state-dir.md:
//   STATE_DIR/init.pid               the owning init's pid (as seen in its PID namespace)
//   STATE_DIR/init.json              the init's phase (starting, running, stopping)
//   STATE_DIR/lock                   flock()ed by the live init
//   STATE_DIR/control.sock           the control channel (control/server.ts), owner-only
//   STATE_DIR/services/NAME.json     one status record per service, replaced atomically
import { redact } from '../config/redact.js';
import { chmodSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { makePath, MakePathError } from '../unix/make-path.js';
import { markSession, type SessionMark } from '../procfs/session-mark.js';

export const DEFAULT_STATE_DIR = '/run/berth';
export const CONTROL_SOCKET = 'control.sock';

export interface ExitInfo {
  code: number | null;
  signal: string | null;
  at: string;
  /** `oom`: the kernel's OOM killer ended it, or the watcher at its memory limit; `watchdog`: the init ended it when its watchdog ran out; absent otherwise */
  reason?: 'oom' | 'watchdog' | null;
}

/** What `berth status` and an operator's `cat` read for one service. */
export interface StatusRecord {
  name: string;
  type: string;
  state: string;
  /** what the operator wants: `up`, or `down` once it was stopped */
  want: string;
  pid: number | null;
  since: string;
  restarts: number;
  lastExit: ExitInfo | null;
  /** true once ready, false until then; null for a service with no readiness check */
  ready: boolean | null;
  // a service with `resources:`; absent for others:
  /** its limits: memory in bytes, cpu in cores, pids a count; only those set */
  limits?: { memory?: number; cpu?: number; pids?: number };
  /** what keeps them */
  enforcedBy?: 'cgroup-v2' | 'cgroup-v1' | 'watcher';
  /** bytes it uses now: its cgroup's count, or the watcher's sum of RSS; null before it is known */
  memory?: number | null;
  /** its OOM kills since the init started */
  oomKills?: number;
  /**
   * The session of the service's latest process, kept after it exits: what
   * it forked may outlive it, and the next init stops that if this one dies
   * (src/procfs/leftovers.ts). Filled in by StateDir; null before the first start.
   */
  session?: SessionMark | null;
  // a service with notify readiness (sd_notify), absent for others:
  /** the last STATUS= it sent; null before any (cleared at each start) */
  statusText?: string | null;
  /** the last ERRNO= it sent; null before any */
  statusErrno?: number | null;
  // a scheduled job's, absent for other services:
  /** its schedule as written */
  schedule?: string;
  /** when its next run is due (ISO 8601, UTC); null while none is (stopped) */
  nextRun?: string | null;
  lastRun?: JobRun | null;
  /** runs started */
  runs?: number;
  /** failed runs in a row, up to the last */
  consecutiveFailures?: number;
  /** runs that were due and did not start (concurrency: forbid, a missed deadline) */
  skipped?: number;
  /** runs that ended in success, and in failure */
  succeeded?: number;
  failed?: number;
  /** when the last successful run ended (ISO 8601, UTC), or null */
  lastSuccess?: string | null;
  /** true while consecutiveFailures is at its failureThreshold or above */
  unhealthy?: boolean;
}

/** A job's last run: when it started, how long it took, how it ended (null code and signal while it runs). */
export interface JobRun {
  start: string;
  durationMs: number | null;
  code: number | null;
  signal: string | null;
}

/** The init's own phase, in STATE_DIR/init.json. */
export type InitPhase = 'starting' | 'running' | 'stopping';

export interface InitRecord {
  pid: number;
  phase: InitPhase;
  since: string;
  manifest: string;
}

/** The state dir cannot be taken: in use, or not writable. */
export class StateDirError extends Error {}

/** A live init owns the state dir: never a reason to fall back to another. */
export class StateDirInUse extends StateDirError {}

/**
 * Where an init that cannot use /run/berth (any uid, a read-only root) keeps
 * its state instead, in this order, and where the commands look next: per
 * uid, so two users never share one. /dev/shm comes last: a world-writable
 * tmpfs in Docker, podman and Kubernetes containers alike, even with a
 * read-only root and a root-owned volume on /tmp.
 */
export function fallbackStateDirs(): string[] {
  const name = `berth-${process.getuid?.() ?? 'user'}`;
  return [join(process.env.TMPDIR || '/tmp', name), join('/dev/shm', name)];
}

export function serviceRecordPath(dir: string, name: string): string {
  return join(dir, 'services', `${name}.json`);
}

/**
 * Every service record in a state dir, as `cat` would show them; none when it
 * has no records. A file that does not parse is skipped: records are renamed
 * into place whole, so that is a foreign or torn file, nothing to trust.
 */
export function readRecords(dir: string): StatusRecord[] {
  let files: string[];
  try {
    files = readdirSync(join(dir, 'services'));
  } catch {
    return [];
  }
  return files
    .filter((f) => f.endsWith('.json'))
    .flatMap((f) => {
      try {
        return [JSON.parse(readFileSync(join(dir, 'services', f), 'utf8')) as StatusRecord];
      } catch {
        return [];
      }
    });
}

/** Takes an exclusive lock on a file for the life of the process; false when a live process holds it. */
export type LockFile = (file: string) => boolean;

/**
 * Takes the state dir for this init. The lock is a flock() on STATE_DIR/lock:
 * the kernel drops it when its holder dies, so whatever a dead init left
 * behind is stale and cleared.
 */
export function acquireStateDir(dir: string, lockFile: LockFile, warn: (message: string) => void): StateDir {
  let locked: boolean;
  try {
    makePath(dir, 0o700);
    // owner-only: the control channel inside steers every service
    chmodSync(dir, 0o700);
    locked = lockFile(join(dir, 'lock'));
  } catch (err) {
    const why = err instanceof MakePathError ? (err.path === resolve(dir) ? err.code : `${err.code} at ${err.path}`) : ((err as NodeJS.ErrnoException).code ?? (err as Error).message);
    throw new StateDirError(`cannot use state dir ${dir}: ${why}`);
  }
  if (!locked) throw new StateDirInUse(`state dir ${dir} is in use by a running init${ownerPid(dir)}; stop that init or pick another state dir`);
  try {
    clearStale(dir);
    writeAtomic(join(dir, 'init.pid'), `${process.pid}\n`);
    return new StateDir(dir, warn);
  } catch (err) {
    throw new StateDirError(`cannot use state dir ${dir}: ${(err as Error).message}`);
  }
}

function ownerPid(dir: string): string {
  try {
    return ` (pid ${readFileSync(join(dir, 'init.pid'), 'utf8').trim()} in its PID namespace)`;
  } catch {
    return '';
  }
}

function clearStale(dir: string): void {
  for (const name of ['init.pid', 'init.json', CONTROL_SOCKET]) rmSync(join(dir, name), { force: true });
  rmSync(join(dir, 'services'), { recursive: true, force: true });
}

function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

/** A service whose record StateDir writes: read at flush time, so a burst of transitions costs one record per service. */
export interface RecordSource {
  readonly name: string;
  readonly pid: number | null;
  record(): StatusRecord;
}

export class StateDir {
  private readonly pending = new Map<string, RecordSource>();
  private readonly sessions = new Map<string, SessionMark>();
  private flushScheduled = false;
  private failing = false;
  /** set during a start burst: records wait for its end, not for the burst's first pause */
  private held = false;

  /** `warn` hears, once per run of failures, that records cannot be written (a full or read-only /run). */
  constructor(
    readonly dir: string,
    private readonly warn: (message: string) => void,
  ) {
    makePath(join(dir, 'services'));
  }

  /**
   * Queues a service's record; records are made and written once the current
   * burst of transitions is over (same event-loop turn), so starting 100
   * services is not slowed by 200 records made and files replaced.
   */
  writeRecord(source: RecordSource): void {
    this.markSession(source.name, source.pid);
    this.pending.set(source.name, source);
    this.scheduleFlush();
  }

  /**
   * Holds the records back until `release` is called: a start burst pauses
   * every few milliseconds to hear signals, and writing 1,000 records in its
   * first pause (~250 ms) would stall it.
   */
  holdRecords(): () => void {
    this.held = true;
    return () => {
      this.held = false;
      this.scheduleFlush();
    };
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.held || !this.pending.size) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  /**
   * Replaces each queued record in one rename, so readers never see half a
   * file. The records are for operators: failing to write them is reported,
   * never a reason to stop the services; unwritten ones wait for the next flush.
   */
  flush(): void {
    this.flushScheduled = false;
    if (this.held) return;
    try {
      for (const [name, source] of this.pending) {
        const record = source.record();
        this.markSession(name, record.pid);
        writeAtomic(serviceRecordPath(this.dir, name), `${redact(JSON.stringify({ ...record, session: this.sessions.get(name) ?? null }))}\n`);
        this.pending.delete(name);
      }
      this.failing = false;
    } catch (err) {
      if (!this.failing) this.warn(`cannot write the state dir's service records: ${(err as Error).message}`);
      this.failing = true;
    }
  }

  /** Forgets a service a reload removed: its record goes. */
  removeRecord(name: string): void {
    this.pending.delete(name);
    try {
      rmSync(serviceRecordPath(this.dir, name), { force: true });
    } catch (err) {
      this.warn(`cannot remove ${serviceRecordPath(this.dir, name)}: ${(err as Error).message}`);
    }
  }

  /** Records the init's phase; like service records, a failure to write it is reported, never fatal. */
  writePhase(record: InitRecord): void {
    try {
      writeAtomic(join(this.dir, 'init.json'), `${JSON.stringify(record)}\n`);
    } catch (err) {
      this.warn(`cannot write ${join(this.dir, 'init.json')}: ${(err as Error).message}`);
    }
  }

  /**
   * Marks the session of a newly started main process while it is still our
   * unreaped child (its pid cannot have been reused yet). A process that is
   * not a session leader yet (node-pty's fork races us) is tried again at flush.
   * As PID 1 there is nothing to mark: when PID 1 dies, the kernel kills
   * everything in its PID namespace, so no init ever finds leftovers of it.
   */
  private markSession(name: string, pid: number | null): void {
    if (pid === null || process.pid === 1 || this.sessions.get(name)?.sid === pid) return;
    const mark = markSession(pid);
    if (mark) this.sessions.set(name, mark);
  }

  /** Gives the state dir up: the pid file and the socket go (the lock goes with the process), the last records stay for a post-mortem `cat`. */
  release(): void {
    this.flush();
    try {
      for (const name of ['init.pid', CONTROL_SOCKET]) rmSync(join(this.dir, name), { force: true });
    } catch {
      // a read-only or vanished dir: nothing to clean
    }
  }
}
