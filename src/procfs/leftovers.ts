// Finds what a dead init's services left running: the processes still in
// the sessions its records name (control/dead-init.ts reads them). A
// process is taken only when it provably belongs to such a session (sid,
// autogroup, start time, boot, PID namespace); a pid number alone is never
// trusted.
import { readdirSync } from 'node:fs';
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

export interface ServiceSession {
  service: string;
  mark: SessionMark;
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
