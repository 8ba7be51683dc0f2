// A state dir whose init is gone: the session marks its service records
// hold, and what of those sessions still runs (procfs/leftovers.ts), for the
// next init to stop and for `berth status` to report.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findLeftovers, type Leftover, type ServiceSession } from '../procfs/leftovers.js';
import type { SessionMark } from '../procfs/session-mark.js';
import { readRecords } from './state-dir.js';

/**
 * The session marks in a state dir's service records. Empty when the dir's
 * last init exited cleanly (it removes init.pid, after stopping everything
 * it started), so a normal start reads no /proc.
 */
export function readSessionMarks(dir: string): ServiceSession[] {
  if (!existsSync(join(dir, 'init.pid'))) return [];
  return readRecords(dir).flatMap((record) => (isMark(record.session) ? [{ service: String(record.name), mark: record.session }] : []));
}

function isMark(v: unknown): v is SessionMark {
  const m = v as SessionMark | null;
  return (
    typeof m === 'object' && m !== null && Number.isInteger(m.sid) && m.sid > 1 && Number.isInteger(m.start) &&
    (m.autogroup === null || Number.isInteger(m.autogroup)) && typeof m.boot === 'string' && typeof m.pidns === 'string'
  );
}

export interface DeadInit {
  initGone: true;
  /** the dead init's pid as it wrote it (in its PID namespace), when it left init.pid behind */
  initPid: number | null;
  /** how many of its services' processes are still alive */
  alive: number;
  leftovers: Leftover[];
}

/**
 * For `berth status` on a dir no live init owns: says the init is gone and
 * how many of its processes still run, instead of its stale "up" rows. Null
 * when a live init holds the dir's lock, or no init ever used it.
 * `isLocked` probes STATE_DIR/lock without taking it (src/pid1's isLocked).
 */
export function inspectDeadInit(dir: string, isLocked: (file: string) => boolean): DeadInit | null {
  const lock = join(dir, 'lock');
  if (!existsSync(lock) || isLocked(lock)) return null;
  let initPid: number | null = null;
  try {
    initPid = Number(readFileSync(join(dir, 'init.pid'), 'utf8').trim()) || null;
  } catch {
    // a clean exit removes it
  }
  const leftovers = findLeftovers(readSessionMarks(dir));
  return { initGone: true, initPid, alive: leftovers.length, leftovers };
}
