// What this process may do with cgroups, found once at start: cgroup v2 (its
// own cgroup in the unified tree, writable, with memory, cpu and pids
// available to enable for its children), cgroup v1 (its own cgroup in each of
// the memory, cpu and pids hierarchies, writable), or neither (a read-only
// /sys/fs/cgroup, controllers not delegated, BERTH_CGROUP=off): then limits
// fall to the watcher. Never throws; every "no" carries its reason.
import { accessSync, constants, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';

export type Controller = 'memory' | 'cpu' | 'pids';
export const CONTROLLERS: readonly Controller[] = ['memory', 'cpu', 'pids'];

export type Detection =
  /** `dir`: the init's own cgroup; `controllers`: those it may enable for its children */
  | { version: 2; dir: string; controllers: Controller[]; missing: string[] }
  /** `dirs`: the init's own cgroup in each usable hierarchy */
  | { version: 1; dirs: Partial<Record<Controller, string>>; missing: string[] }
  | { version: null; reason: string };

export interface Probe {
  /** the controllers a v2 cgroup offers its children (cgroup.controllers), or why they cannot be read */
  controllers(dir: string): string[] | string;
  /** undefined if `dir` is writable, else why not */
  unwritable(dir: string): string | undefined;
}

const realProbe: Probe = {
  controllers: (dir) => {
    try {
      return readFileSync(join(dir, 'cgroup.controllers'), 'latin1').split(/\s+/).filter(Boolean);
    } catch (err) {
      return `${join(dir, 'cgroup.controllers')}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
    }
  },
  unwritable: (dir) => {
    try {
      accessSync(dir, constants.W_OK);
      return undefined;
    } catch (err) {
      return `${dir} is not writable (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
    }
  },
};

/** Reads /proc/self/mountinfo and /proc/self/cgroup and decides. */
export function detectCgroups(env: NodeJS.ProcessEnv = process.env): Detection {
  if (env.BERTH_CGROUP === 'off') return { version: null, reason: 'BERTH_CGROUP=off' };
  let mountinfo: string, cgroup: string;
  try {
    mountinfo = readFileSync('/proc/self/mountinfo', 'latin1');
    cgroup = readFileSync('/proc/self/cgroup', 'latin1');
  } catch (err) {
    return { version: null, reason: `cannot read /proc/self: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
  }
  return decide(mountinfo, cgroup, realProbe);
}

interface Mount {
  root: string;
  point: string;
  type: string;
  options: string[];
}

// mountinfo escapes space, tab, newline and backslash as \ooo
const unescape = (field: string): string => field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

function mounts(mountinfo: string): Mount[] {
  const found: Mount[] = [];
  for (const line of mountinfo.split('\n')) {
    // ID PARENT MAJ:MIN ROOT POINT OPTIONS [OPTIONAL...] - TYPE SOURCE SUPER_OPTIONS
    const fields = line.split(' ');
    const dash = fields.indexOf('-', 6);
    if (dash < 0 || fields.length < dash + 4) continue;
    found.push({ root: unescape(fields[3]), point: unescape(fields[4]), type: fields[dash + 1], options: fields[dash + 3].split(',') });
  }
  return found;
}

/** hierarchy key ("0" for v2, else the controller list) → the cgroup path, from /proc/self/cgroup. */
function memberships(cgroup: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const line of cgroup.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (m) found.set(m[1] === '0' ? '0' : m[2], m[3]);
  }
  return found;
}

/** The directory of `path` in a mount of its hierarchy whose root holds it (a container sees only its part of the tree). */
function dirIn(candidates: Mount[], path: string): string | undefined {
  for (const m of candidates) {
    const rel = posix.relative(m.root, path);
    if (!rel.startsWith('..')) return posix.join(m.point, rel);
  }
  return undefined;
}

/**
 * The file that counts OOM kills in this process's own memory cgroup (a container's), whether or not it may be
 * written: v2 `memory.events`, v1 `memory.oom_control` (both have an `oom_kill` line). Undefined without one.
 */
export function ownOomCounter(mountinfo: string, cgroup: string): string | undefined {
  const all = mounts(mountinfo);
  const member = memberships(cgroup);
  const v1 = [...member].find(([key]) => key !== '0' && key.split(',').includes('memory'))?.[1];
  const v1Dir = v1 === undefined ? undefined : dirIn(all.filter((m) => m.type === 'cgroup' && m.options.includes('memory')), v1);
  if (v1Dir) return join(v1Dir, 'memory.oom_control');
  const v2 = member.get('0');
  const v2Dir = v2 === undefined ? undefined : dirIn(all.filter((m) => m.type === 'cgroup2'), v2);
  return v2Dir ? join(v2Dir, 'memory.events') : undefined;
}

export function decide(mountinfo: string, cgroup: string, probe: Probe): Detection {
  const all = mounts(mountinfo);
  const member = memberships(cgroup);
  const v2 = v2Candidate(all, member, probe);
  const v1 = v1Candidate(all, member, probe);
  const covers = (d: Detection): number => (d.version === 2 ? d.controllers.length : d.version === 1 ? Object.keys(d.dirs).length : 0);
  // both may be there (a hybrid host): the one that enforces more, v2 on a tie
  const best = covers(v2) >= covers(v1) ? v2 : v1;
  if (covers(best) > 0) return best;
  const reasons = [v2, v1].flatMap((d) => (d.version === null ? [d.reason] : d.missing));
  return { version: null, reason: reasons.join('; ') };
}

function v2Candidate(all: Mount[], member: Map<string, string>, probe: Probe): Detection {
  const path = member.get('0');
  const candidates = all.filter((m) => m.type === 'cgroup2');
  if (path === undefined || !candidates.length) return { version: null, reason: 'no cgroup v2 (no cgroup2 mount, or no 0:: line in /proc/self/cgroup)' };
  const dir = dirIn(candidates, path);
  if (!dir) return { version: null, reason: `cgroup v2: our cgroup ${path} is outside every cgroup2 mount` };
  const unwritable = probe.unwritable(dir);
  if (unwritable) return { version: null, reason: `cgroup v2: ${unwritable}` };
  const offered = probe.controllers(dir);
  if (typeof offered === 'string') return { version: null, reason: `cgroup v2: ${offered}` };
  const controllers = CONTROLLERS.filter((c) => offered.includes(c));
  const missing = CONTROLLERS.filter((c) => !offered.includes(c)).map((c) => `cgroup v2: no ${c} controller in ${join(dir, 'cgroup.controllers')}`);
  return controllers.length ? { version: 2, dir, controllers, missing } : { version: null, reason: missing.join('; ') };
}

function v1Candidate(all: Mount[], member: Map<string, string>, probe: Probe): Detection {
  const dirs: Partial<Record<Controller, string>> = {};
  const missing: string[] = [];
  for (const c of CONTROLLERS) {
    const candidates = all.filter((m) => m.type === 'cgroup' && m.options.includes(c));
    // the hierarchy's key in /proc/self/cgroup is its controller list ("cpu,cpuacct")
    const path = [...member].find(([key]) => key !== '0' && key.split(',').includes(c))?.[1];
    if (!candidates.length || path === undefined) {
      missing.push(`cgroup v1: no ${c} hierarchy mounted`);
      continue;
    }
    const dir = dirIn(candidates, path);
    const problem = dir ? probe.unwritable(dir) : `our ${c} cgroup ${path} is outside its mounts`;
    if (problem) missing.push(`cgroup v1: ${problem}`);
    else dirs[c] = dir;
  }
  return Object.keys(dirs).length ? { version: 1, dirs, missing } : { version: null, reason: missing.join('; ') };
}

/** The record's `enforcedBy` for these limits: a cgroup when it has a controller for every limit set, else the watcher; null with no limits. */
export function enforcedBy(detection: Detection, limits: Partial<Record<Controller, number>>): 'cgroup-v2' | 'cgroup-v1' | 'watcher' | null {
  const wanted = CONTROLLERS.filter((c) => limits[c] !== undefined);
  if (!wanted.length) return null;
  if (detection.version === 2 && wanted.every((c) => detection.controllers.includes(c))) return 'cgroup-v2';
  if (detection.version === 1 && wanted.every((c) => detection.dirs[c])) return 'cgroup-v1';
  return 'watcher';
}
