// The state dir is a public interface (like s6's): an operator can `ls` and
// `cat` it without the CLI. Layout, documented in docs/state-dir.md:
//   STATE_DIR/init.pid               the owning init's pid (as seen in its PID namespace)
//   STATE_DIR/control.sock           a live init listens here; this is also the lock
//   STATE_DIR/services/NAME.json     one status record per service, replaced atomically
import { mkdirSync, readdirSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
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

export function controlSocketPath(dir: string): string {
  return join(dir, 'control.sock');
}

export function serviceRecordPath(dir: string, name: string): string {
  return join(dir, 'services', `${name}.json`);
}

/** True when an init is listening on the state dir's socket. */
export function isLive(dir: string): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection(controlSocketPath(dir));
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

/**
 * Takes the state dir for this init. The lock is the listening control socket:
 * the kernel drops it when its owner dies, so a leftover socket file that
 * refuses connections is stale, whatever happened to the pid that made it.
 */
export async function acquireStateDir(dir: string): Promise<StateDir> {
  mkdirSync(dir, { recursive: true });
  if (await isLive(dir)) {
    throw new StateDirBusyError(`state dir ${dir} is in use by a running init (its control socket answers); stop that init or pick another state dir`);
  }
  clearStale(dir);
  const server = createServer((conn) => conn.end(`${process.pid}\n`));
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EADDRINUSE' ? new StateDirBusyError(`state dir ${dir} was taken by another init starting at the same time`) : err),
    );
    server.listen(controlSocketPath(dir), () => resolve());
  });
  writeAtomic(join(dir, 'init.pid'), `${process.pid}\n`);
  return new StateDir(dir, server);
}

function clearStale(dir: string): void {
  for (const entry of ['control.sock', 'init.pid']) rmSync(join(dir, entry), { force: true });
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

  constructor(
    readonly dir: string,
    private readonly server: Server,
  ) {
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

  /** Gives the state dir up: the socket and pid file go, the last records stay for a post-mortem `cat`. */
  release(): void {
    this.flush();
    this.server.close();
    for (const entry of ['control.sock', 'init.pid']) {
      try {
        unlinkSync(join(this.dir, entry));
      } catch {
        // already gone
      }
    }
  }
}

/** Reads every service record, for `berth status` and tests. */
export function serviceNames(dir: string): string[] {
  try {
    return readdirSync(join(dir, 'services'))
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.slice(0, -5));
  } catch {
    return [];
  }
}
