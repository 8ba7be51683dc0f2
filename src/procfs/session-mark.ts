// What identifies a service's session for sure, long after the init that
// started it is gone: pid numbers are reused (pid_max is often 32768), so a
// session id is trusted only together with the leader's start time, its
// autogroup and the kernel's boot id.
import { readFileSync, readlinkSync } from 'node:fs';
import { readStat } from './proc.js';

/** Stored in each service record (docs/state-dir.md, `session`). */
export interface SessionMark {
  /** the session id: the service's main pid, which is its session leader */
  sid: number;
  /** the leader's start time, clock ticks after boot (field 22 of /proc/PID/stat) */
  start: number;
  /**
   * the session's autogroup: setsid() makes a new one with a number the
   * kernel never hands out again until reboot, and fork() passes it on, so a
   * process with this sid and this autogroup is a member of this session;
   * null where the kernel has no autogroups
   */
  autogroup: number | null;
  /** /proc/sys/kernel/random/boot_id: pids and ticks of another boot mean nothing */
  boot: string;
  /** the PID namespace's inode: the pids are as seen from it */
  pidns: string;
}

/** The autogroup number of `pid` ("/autogroup-123 nice 0"), or null when the kernel has none or it is gone. */
export function readAutogroup(pid: number): number | null {
  try {
    const m = /autogroup-(\d+)/.exec(readFileSync(`/proc/${pid}/autogroup`, 'latin1'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

let host: { boot: string; pidns: string } | undefined;

/** This kernel's boot id and our PID namespace, read once. */
export function currentHost(): { boot: string; pidns: string } {
  if (host) return host;
  let boot = '';
  let pidns = '';
  try {
    boot = readFileSync('/proc/sys/kernel/random/boot_id', 'latin1').trim();
  } catch {
    // no procfs sysctl: marks then never match another run
  }
  try {
    pidns = readlinkSync('/proc/self/ns/pid');
  } catch {
    // likewise
  }
  host = { boot, pidns };
  return host;
}

/**
 * The mark of the session that `pid` leads, read right after it was started
 * (it is our unreaped child, so the pid cannot have been reused). Undefined
 * when it is not (yet) a session leader: a process forked by node-pty may not
 * have called setsid() yet, and it must never be taken for the init's own session.
 */
export function markSession(pid: number): SessionMark | undefined {
  const stat = readStat(pid);
  if (!stat || stat.sid !== pid) return undefined;
  const { boot, pidns } = currentHost();
  if (!boot || !pidns) return undefined;
  return { sid: pid, start: stat.start, autogroup: readAutogroup(pid), boot, pidns };
}
