// The state dir is a public interface (like s6's): an operator can `ls` and
// `cat` it without the CLI. Layout, documented in docs/state-dir.md:
//   STATE_DIR/init.pid               the owning init's pid (as seen in its PID namespace)
//   STATE_DIR/lock                   flock()ed by the live init
//   STATE_DIR/services/NAME.json     one status record per service, replaced atomically
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { markSession, type SessionMark } from './session-mark.js';

export const DEFAULT_STATE_DIR = '/run/berth';

export interface ExitInfo {
  code: number | null;
  signal: string | null;
  at: string;
}

/** What `berth status` and an operator's `cat` read for one service. */
export interface StatusRecord {
  name: string;
  type: string;
  state: string;
  pid: number | null;
  since: string;
  restarts: number;
  lastExit: ExitInfo | null;
  /**
   * The session of the service's latest process, kept after it exits: what
   * it forked may outlive it, and the next init stops that if this one dies
   * (src/control/leftovers.ts). Filled in by StateDir; null before the first start.
   */
  session?: SessionMark | null;
}

/** The state dir cannot be taken: in use, or not writable. */
export class StateDirError extends Error {}

export function serviceRecordPath(dir: string, name: string): string {
  return join(dir, 'services', `${name}.json`);
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
    mkdirSync(dir, { recursive: true });
    locked = lockFile(join(dir, 'lock'));
  } catch (err) {
    throw new StateDirError(`cannot use state dir ${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}${dir === DEFAULT_STATE_DIR ? ' (outside a container, name one: berth init ./state)' : ''}`);
  }
  if (!locked) throw new StateDirError(`state dir ${dir} is in use by a running init${ownerPid(dir)}; stop that init or pick another state dir`);
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
  rmSync(join(dir, 'init.pid'), { force: true });
  rmSync(join(dir, 'services'), { recursive: true, force: true });
}

function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

export class StateDir {
  private readonly pending = new Map<string, StatusRecord>();
  private readonly sessions = new Map<string, SessionMark>();
  private flushScheduled = false;
  private failing = false;

  /** `warn` hears, once per run of failures, that records cannot be written (a full or read-only /run). */
  constructor(
    readonly dir: string,
    private readonly warn: (message: string) => void,
  ) {
    mkdirSync(join(dir, 'services'), { recursive: true });
  }

  /**
   * Queues a service's record; records are written once the current burst of
   * transitions is over (same event-loop turn), so starting 100 services is
   * not slowed by 200 file replacements.
   */
  writeRecord(record: StatusRecord): void {
    this.pending.set(record.name, this.withSession(record));
    if (this.flushScheduled) return;
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
    try {
      for (const [name, record] of this.pending) {
        writeAtomic(serviceRecordPath(this.dir, name), `${JSON.stringify(this.withSession(record))}\n`);
        this.pending.delete(name);
      }
      this.failing = false;
    } catch (err) {
      if (!this.failing) this.warn(`cannot write the state dir's service records: ${(err as Error).message}`);
      this.failing = true;
    }
  }

  /**
   * Marks the session of a newly started main process while it is still our
   * unreaped child (its pid cannot have been reused yet). A process that is
   * not a session leader yet (node-pty's fork races us) is tried again at flush.
   * As PID 1 there is nothing to mark: when PID 1 dies, the kernel kills
   * everything in its PID namespace, so no init ever finds leftovers of it.
   */
  private withSession(record: StatusRecord): StatusRecord {
    const known = this.sessions.get(record.name);
    if (record.pid !== null && known?.sid !== record.pid && process.pid !== 1) {
      const mark = markSession(record.pid);
      if (mark) this.sessions.set(record.name, mark);
    }
    return { ...record, session: this.sessions.get(record.name) ?? null };
  }

  /** Gives the state dir up: the pid file goes (the lock goes with the process), the last records stay for a post-mortem `cat`. */
  release(): void {
    this.flush();
    try {
      rmSync(join(this.dir, 'init.pid'), { force: true });
    } catch {
      // a read-only or vanished dir: nothing to clean
    }
  }
}
