// One cgroup per service under the init's own, with its limits written, its
// usage and OOM kills read back, and removed at the end. Layout (docs/resources.md):
//   v2: OWN/init (the init, moved there: a cgroup with controllers enabled
//       for its children may hold no process itself), OWN/services,
//       OWN/services/NAME.service
//   v1: OWN/services/NAME.service in each of the memory, cpu, pids hierarchies
// Every failure is a message that names the path and the errno.
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { attempt, CgroupFsError, realFs, type CgroupFs, type Result } from './cgroup-fs.js';
import { errnoName } from '../unix/errno.js';
import type { Controller, Detection } from './detect.js';
import type { Limits } from '../manifest/limits.js';

/** cpu.max's period, as Kubernetes and systemd use: 100 ms */
export const CPU_PERIOD_US = 100_000;
// the kernel's least quota (1 ms); Kubernetes raises smaller ones to it too
const MIN_QUOTA_US = 1_000;

export interface ServiceCgroup {
  /** the service's cgroup in each hierarchy (one on v2) */
  readonly dirs: string[];
  /** cgroup.procs of each, open for the spawn's `cgroupProcs`: the child joins them before exec */
  readonly procsFds: number[];
  /** memory.current / memory.usage_in_bytes */
  memoryBytes(): Result<number>;
  /** processes the OOM killer ended in this cgroup so far (memory.events / memory.oom_control oom_kill) */
  oomKills(): Result<number>;
  /** the words for a spawn that failed with `{ errno, cgroup }` (src/pid1/spawn.ts) */
  joinFailure(index: number, errno: number): string;
  /** closes the fds and removes the cgroup once its processes are gone; an error after `deadlineMs` */
  remove(deadlineMs?: number): Promise<string | undefined>;
}

export interface Cgroups {
  readonly version: 1 | 2;
  readonly controllers: Controller[];
  /** makes (or takes over, left by a dead init) the service's cgroup, with `limits`; a controller with no limit gets none */
  make(service: string, limits: Limits): Result<ServiceCgroup>;
  /** removes the services group once every service's cgroup is gone */
  close(deadlineMs?: number): Promise<string | undefined>;
}

export interface Options {
  fs?: CgroupFs;
  /** the directory under the init's own cgroup that holds the services' */
  group?: string;
}

/** Prepares the init's own cgroup for services' (v2: moves the init into a leaf) and returns the manager. */
export function openCgroups(detection: Exclude<Detection, { version: null }>, options: Options = {}): Result<Cgroups> {
  const fs = options.fs ?? realFs;
  const group = options.group ?? 'services';
  return attempt(() => (detection.version === 2 ? openV2(fs, detection.dir, group, detection.controllers) : openV1(fs, detection.dirs, group)));
}

function openV2(fs: CgroupFs, own: string, group: string, controllers: Controller[]): Cgroups {
  const enable = (dir: string): void => {
    // one write each, so a refusal names its controller
    for (const c of controllers) fs.write(join(dir, 'cgroup.subtree_control'), `+${c}`);
  };
  mkdirOnce(fs, join(own, 'init'));
  moveAll(fs, own, join(own, 'init'));
  enable(own);
  const services = join(own, group);
  mkdirOnce(fs, services);
  enable(services);
  // what the kernel offers is the same in every service's cgroup as in the group's: asked once
  const offers = { oomGroup: fs.exists(join(services, 'memory.oom.group')), swapMax: fs.exists(join(services, 'memory.swap.max')) };
  return {
    version: 2,
    controllers,
    make: (service, limits) =>
      attempt(() => {
        const dir = join(services, dirName(service));
        mkdirOnce(fs, dir);
        writeV2(fs, dir, controllers, limits, offers);
        return serviceCgroup(fs, [dir], controllers.includes('memory') ? { usage: join(dir, 'memory.current'), events: join(dir, 'memory.events') } : undefined);
      }),
    close: (deadlineMs) => removeDirs(fs, [services], deadlineMs),
  };
}

function writeV2(fs: CgroupFs, dir: string, controllers: Controller[], limits: Limits, offers: { oomGroup: boolean; swapMax: boolean }): void {
  if (controllers.includes('memory')) {
    fs.write(join(dir, 'memory.max'), limits.memory === undefined ? 'max' : String(limits.memory));
    // the whole service goes at an OOM kill, not one of its processes (a worker) leaving the rest broken
    if (offers.oomGroup) fs.write(join(dir, 'memory.oom.group'), '1');
    // as the kubelet does with swap off, and as memory.memsw does on v1: the limit is all the service gets
    if (offers.swapMax) fs.write(join(dir, 'memory.swap.max'), limits.memory === undefined ? 'max' : '0');
  }
  if (controllers.includes('cpu')) fs.write(join(dir, 'cpu.max'), limits.cpu === undefined ? `max ${CPU_PERIOD_US}` : `${quotaUs(limits.cpu)} ${CPU_PERIOD_US}`);
  if (controllers.includes('pids')) fs.write(join(dir, 'pids.max'), limits.pids === undefined ? 'max' : String(limits.pids));
}

function openV1(fs: CgroupFs, own: Partial<Record<Controller, string>>, group: string): Cgroups {
  const controllers = (Object.keys(own) as Controller[]).filter((c) => own[c]);
  const groups = controllers.map((c) => join(own[c]!, group));
  for (const dir of groups) mkdirOnce(fs, dir);
  const dirOf = (c: Controller, service: string): string => join(own[c]!, group, dirName(service));
  // swap accounting is the kernel's, the same for every cgroup: asked once, not at each service's start
  const memsw = own.memory !== undefined && fs.exists(join(own.memory, group, 'memory.memsw.limit_in_bytes'));
  return {
    version: 1,
    controllers,
    make: (service, limits) =>
      attempt(() => {
        const dirs = controllers.map((c) => dirOf(c, service));
        for (const dir of dirs) mkdirOnce(fs, dir);
        writeV1(fs, (c) => dirOf(c, service), controllers, limits, memsw);
        const memory = controllers.includes('memory') ? dirOf('memory', service) : undefined;
        return serviceCgroup(fs, dirs, memory ? { usage: join(memory, 'memory.usage_in_bytes'), events: join(memory, 'memory.oom_control') } : undefined);
      }),
    close: (deadlineMs) => removeDirs(fs, groups, deadlineMs),
  };
}

function writeV1(fs: CgroupFs, dirOf: (c: Controller) => string, controllers: Controller[], limits: Limits, hasMemsw: boolean): void {
  if (controllers.includes('memory')) {
    const value = limits.memory === undefined ? '-1' : String(limits.memory);
    const limit = join(dirOf('memory'), 'memory.limit_in_bytes');
    const memsw = join(dirOf('memory'), 'memory.memsw.limit_in_bytes'); // only with swap accounting on
    if (!hasMemsw) fs.write(limit, value);
    else {
      // the kernel keeps limit <= memsw: a raise goes memsw first, a cut limit first
      try {
        fs.write(limit, value);
      } catch (err) {
        if (!(err instanceof CgroupFsError && err.code === 'EINVAL')) throw err;
        fs.write(memsw, value);
        fs.write(limit, value);
      }
      fs.write(memsw, value);
    }
  }
  if (controllers.includes('cpu')) {
    fs.write(join(dirOf('cpu'), 'cpu.cfs_period_us'), String(CPU_PERIOD_US));
    fs.write(join(dirOf('cpu'), 'cpu.cfs_quota_us'), limits.cpu === undefined ? '-1' : String(quotaUs(limits.cpu)));
  }
  if (controllers.includes('pids')) fs.write(join(dirOf('pids'), 'pids.max'), limits.pids === undefined ? 'max' : String(limits.pids));
}

/** Microseconds of CPU per period for `cores`. */
export const quotaUs = (cores: number): number => Math.max(MIN_QUOTA_US, Math.round(cores * CPU_PERIOD_US));

// systemd's suffix: a service's name can never be an interface file's (memory.max, tasks)
const dirName = (service: string): string => {
  if (!service || service.includes('/') || service === '.' || service === '..') throw new CgroupFsError(service, 'EINVAL', `cgroups: '${service}' cannot name a directory`);
  return `${service}.service`;
};

function mkdirOnce(fs: CgroupFs, dir: string): void {
  try {
    fs.mkdir(dir);
  } catch (err) {
    if (!(err instanceof CgroupFsError && err.code === 'EEXIST')) throw err;
  }
}

/** Moves every process of `from` into `to`, until none is left (one may fork meanwhile); one gone already is skipped. */
function moveAll(fs: CgroupFs, from: string, to: string): void {
  for (let round = 0; round < 10; round++) {
    const pids = fs.read(join(from, 'cgroup.procs')).split('\n').filter(Boolean);
    if (!pids.length) return;
    for (const pid of pids) {
      try {
        fs.write(join(to, 'cgroup.procs'), pid);
      } catch (err) {
        if (!(err instanceof CgroupFsError && err.code === 'ESRCH')) throw err;
      }
    }
  }
  throw new CgroupFsError(from, 'EBUSY', `cgroups: processes keep appearing in ${join(from, 'cgroup.procs')}; cannot move them all into ${to}`);
}

/** `memory`: the files with its usage and its oom_kill line; absent without the memory controller. */
function serviceCgroup(fs: CgroupFs, dirs: string[], memory: { usage: string; events: string } | undefined): ServiceCgroup {
  const procsFds: number[] = [];
  try {
    for (const dir of dirs) procsFds.push(fs.openProcs(join(dir, 'cgroup.procs')));
  } catch (err) {
    for (const fd of procsFds) fs.close(fd);
    throw err;
  }
  return new OneCgroup(fs, dirs, procsFds, memory);
}

// A class rather than an object of closures: a hundred services share its methods
class OneCgroup implements ServiceCgroup {
  private closed = false;

  constructor(
    private readonly fs: CgroupFs,
    readonly dirs: string[],
    readonly procsFds: number[],
    private readonly memory: { usage: string; events: string } | undefined,
  ) {}

  joinFailure(index: number, errno: number): string {
    return `cannot join cgroup ${this.dirs[index] ?? `#${index}`} before exec: ${errnoName(errno)}`;
  }

  memoryBytes(): Result<number> {
    return attempt(() => (this.memory ? number(this.fs.read(this.memory.usage), this.memory.usage) : this.noMemory()));
  }

  oomKills(): Result<number> {
    return attempt(() => (this.memory ? counter(this.fs.read(this.memory.events), 'oom_kill', this.memory.events) : this.noMemory()));
  }

  remove(deadlineMs?: number): Promise<string | undefined> {
    if (!this.closed) for (const fd of this.procsFds) this.fs.close(fd);
    this.closed = true;
    return removeDirs(this.fs, this.dirs, deadlineMs);
  }

  private noMemory(): never {
    throw new CgroupFsError(this.dirs[0], 'ENOENT', `cgroups: no memory controller for ${this.dirs.join(', ')}`);
  }
}

/** rmdir each, again while the kernel says EBUSY (the last processes still exiting), until the deadline. */
async function removeDirs(fs: CgroupFs, dirs: string[], deadlineMs = 2000): Promise<string | undefined> {
  const deadline = Date.now() + deadlineMs;
  const problems: string[] = [];
  for (const dir of dirs) {
    for (;;) {
      try {
        fs.rmdir(dir);
        break;
      } catch (err) {
        if (err instanceof CgroupFsError && err.code === 'ENOENT') break;
        if (!(err instanceof CgroupFsError && err.code === 'EBUSY') || Date.now() >= deadline) {
          problems.push(err instanceof CgroupFsError ? err.message + stillThere(fs, dir) : String(err));
          break;
        }
        await sleep(20);
      }
    }
  }
  return problems.length ? problems.join('; ') : undefined;
}

function stillThere(fs: CgroupFs, dir: string): string {
  try {
    const pids = fs.read(join(dir, 'cgroup.procs')).split('\n').filter(Boolean);
    return pids.length ? ` (processes still in it: ${pids.join(' ')})` : '';
  } catch {
    return '';
  }
}

function number(text: string, path: string): number {
  const n = Number(text.trim());
  if (!Number.isSafeInteger(n)) throw new CgroupFsError(path, 'EINVAL', `cgroups: '${text.trim()}' in ${path} is not a count`);
  return n;
}

/** The value of the `key N` line of a flat-keyed file (memory.events, memory.oom_control). */
function counter(text: string, key: string, path: string): number {
  const m = new RegExp(`^${key} (\\d+)$`, 'm').exec(text);
  if (!m) throw new CgroupFsError(path, 'ENOENT', `cgroups: no '${key}' line in ${path} (kernel too old?)`);
  return Number(m[1]);
}
