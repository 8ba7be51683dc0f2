// The state dir is a public interface (like s6's): an operator can `ls` and
// `cat` it without the CLI. Layout, documented in docs/state-dir.md:
//   STATE_DIR/init.pid               the owning init's pid (as seen in its PID namespace)
//   STATE_DIR/lock                   flock()ed by the live init
//   STATE_DIR/services/NAME.json     one status record per service, replaced atomically
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

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
}

export class StateDirBusyError extends Error {}

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
export function acquireStateDir(dir: string, lockFile: LockFile): StateDir {
  mkdirSync(dir, { recursive: true });
  if (!lockFile(join(dir, 'lock'))) {
    throw new StateDirBusyError(`state dir ${dir} is in use by a running init${ownerPid(dir)}; stop that init or pick another state dir`);
  }
  clearStale(dir);
  writeAtomic(join(dir, 'init.pid'), `${process.pid}\n`);
  return new StateDir(dir);
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
  private flushScheduled = false;

  constructor(readonly dir: string) {
    mkdirSync(join(dir, 'services'), { recursive: true });
  }

  /**
   * Queues a service's record; records are written once the current burst of
   * transitions is over (same event-loop turn), so starting 100 services is
   * not slowed by 200 file replacements.
   */
  writeRecord(record: StatusRecord): void {
    this.pending.set(record.name, record);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  /** Replaces each queued record in one rename, so readers never see half a file. */
  flush(): void {
    this.flushScheduled = false;
    for (const record of this.pending.values()) writeAtomic(serviceRecordPath(this.dir, record.name), `${JSON.stringify(record)}\n`);
    this.pending.clear();
  }

  /** Gives the state dir up: the pid file goes (the lock goes with the process), the last records stay for a post-mortem `cat`. */
  release(): void {
    this.flush();
    rmSync(join(this.dir, 'init.pid'), { force: true });
  }
}
