// Finds what a dead init's services left running: the processes still in
// the sessions its records name. A process is taken only when it provably
// belongs to such a session (sid, autogroup, start time, boot, PID
// namespace); a pid number alone is never trusted.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readRecords } from '../control/state-dir.js';
import { readStat, type ProcStat } from './proc.js';
import { currentHost, readAutogroup, type SessionMark } from './session-mark.js';

export interface Leftover {
  pid: number;
  /** start time in clock ticks: what signalling it checks again, so a reused pid is never hit */
  start: number;
  comm: string;
  /** the service whose session it is in */
  service: string;
}

interface ServiceSession {
  service: string;
  mark: SessionMark;
}

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

/** Every live (non-zombie) process in the sessions of `sessions`, never this process. */
export function findLeftovers(sessions: ServiceSession[]): Leftover[] {
  const host = currentHost();
  const bySid = new Map<number, ServiceSession>();
  for (const s of sessions) if (s.mark.boot === host.boot && s.mark.pidns === host.pidns && host.boot) bySid.set(s.mark.sid, s);
  if (!bySid.size) return [];
  const found: Leftover[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) continue;
    const stat = readStat(pid);
    const session = stat && bySid.get(stat.sid);
    if (!stat || !session || stat.state === 'Z' || !belongs(stat, session.mark)) continue;
    found.push({ pid, start: stat.start, comm: stat.comm, service: session.service });
  }
  return found;
}

/**
 * Whether a process with the session id of `mark` is in that very session.
 * The kernel never hands out a pid that is still some process's session id,
 * so while one member lives the number is not reused; once all are gone it
 * may be, by a newer session. That one has another autogroup (setsid() draws
 * a fresh number), or, without autogroups, a leader started later.
 */
function belongs(stat: ProcStat, mark: SessionMark): boolean {
  if (stat.start < mark.start) return false;
  if (mark.autogroup !== null) return readAutogroup(stat.pid) === mark.autogroup;
  const leader = readStat(mark.sid);
  return leader ? leader.start === mark.start : true;
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

// a fork bomb's leftovers must not make a line of thousands of entries
const NAMED_AT_MOST = 10;

/** One line for the log: how many, and which of which service (the first few by name). */
export function describeLeftovers(leftovers: Leftover[]): string {
  const byService = new Map<string, Leftover[]>();
  for (const l of leftovers.slice(0, NAMED_AT_MOST)) byService.set(l.service, [...(byService.get(l.service) ?? []), l]);
  const parts = [...byService].map(([service, ls]) => `${service}: ${ls.map((l) => `${l.comm} (pid ${l.pid})`).join(', ')}`);
  const more = leftovers.length > NAMED_AT_MOST ? `; ${leftovers.length - NAMED_AT_MOST} more` : '';
  return `${leftovers.length} process${leftovers.length === 1 ? '' : 'es'} (${parts.join('; ')}${more})`;
}
