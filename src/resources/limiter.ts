// Enforces the services' `resources:` for one init: decides once, at start,
// whether the kernel does it (a cgroup per service) or the watcher does, and
// then gives each spawn its cgroup to join, reads usage back, and says which
// exits were OOM kills. Made only when some service has a limit: an init
// without any never reads /proc/self/mountinfo for it.
import { writeSync } from 'node:fs';
import type { Limits, Service } from '../manifest/index.js';
import { formatCpu, formatMemory } from '../manifest/quantity.js';
import { openCgroups, type Cgroups, type ServiceCgroup } from './cgroups.js';
import { detectCgroups, enforcedBy, type Detection } from './detect.js';
import { LimitWatcher, type Overrun } from './watcher.js';

export type EnforcedBy = 'cgroup-v2' | 'cgroup-v1' | 'watcher';

/** An exit the limits explain: the kernel's OOM killer, or the watcher, ended the service at its memory limit. */
export interface OomKill {
  by: 'kernel' | 'watcher';
  /** the memory limit, in bytes, or null when the kill came from a limit above the service's (the container's) */
  limit: number | null;
}

/** What a status record says of a limited service (docs/state-dir.md). */
export interface LimitFields {
  limits: Limits;
  enforcedBy: EnforcedBy;
  memory: number | null;
  oomKills: number;
}

/** What a service's exit needs to be judged: the OOM count of its cgroup when it started. */
export interface Joined {
  /** cgroup.procs descriptors the child writes itself into before exec */
  procsFds: number[];
  /** the words for a join that failed (the index of the fd, the errno) */
  joinFailure(index: number, errno: number): string;
  oomKillsAtStart: number | undefined;
}

export class Limiter {
  private readonly cgroups = new Map<string, ServiceCgroup>();
  private readonly oomKillCounts = new Map<string, number>();
  private watcher?: LimitWatcher;

  private constructor(
    private readonly detection: Detection,
    private readonly manager: Cgroups | undefined,
    /** why the kernel cannot enforce limits here, when it cannot */
    readonly noCgroups: string | undefined,
    private readonly onOverrun: (service: string, overrun: Overrun) => void,
  ) {}

  /** A limiter when any of `services` has a limit, else undefined (and nothing is read). */
  static open(services: Service[], env: NodeJS.ProcessEnv, onOverrun: (service: string, overrun: Overrun) => void): Limiter | undefined {
    if (!services.some(hasLimits)) return undefined;
    const detection = detectCgroups(env);
    if (detection.version === null) return new Limiter(detection, undefined, detection.reason, onOverrun);
    // PID 1 owns its cgroup (a container's): a fixed name, taken over after a crash. An init started from a shell
    // shares its cgroup with whatever else that shell started, another init among them: a name of its own
    const opened = openCgroups(detection, { group: process.pid === 1 ? 'services' : `services.${process.pid}` });
    if (!opened.ok) return new Limiter({ version: null, reason: opened.error }, undefined, opened.error, onOverrun);
    return new Limiter(detection, opened.value, undefined, onOverrun);
  }

  /** The record's fields for `svc`; undefined when it has no limits. */
  fields(svc: Service): LimitFields | undefined {
    const by = this.enforcedBy(svc);
    return by ? { limits: svc.limits, enforcedBy: by, memory: this.memory(svc), oomKills: this.oomKills(svc.name) } : undefined;
  }

  /** How `svc`'s limits are enforced; null when it has none. */
  enforcedBy(svc: Service): EnforcedBy | null {
    return enforcedBy(this.detection, svc.limits);
  }

  /** The line the init says at start: which way each limited service's limits are kept, and what cannot be. */
  describe(services: Service[]): string {
    // services with the same limits kept the same way are said together: a hundred alike make one short clause
    const groups = new Map<string, string[]>();
    const uncapped: string[] = [];
    for (const svc of services.filter(hasLimits)) {
      const way = this.enforcedBy(svc)!;
      const key = `(${limitsText(svc.limits)}) by ${way === 'watcher' ? 'the watcher' : way.replace('-', ' ')}`;
      groups.set(key, [...(groups.get(key) ?? []), svc.name]);
      if (way === 'watcher' && svc.limits.cpu !== undefined) uncapped.push(svc.name);
    }
    const clauses = [...groups].map(([key, names]) => `${someOf(names)} ${key}`);
    const why = this.noCgroups ? `; no cgroups: ${this.noCgroups}` : '';
    const cpu = uncapped.length ? `; the cpu limit of ${someOf(uncapped)} is not enforced: only cgroups can cap CPU` : '';
    return `resource limits: ${clauses.join('; ')}${why}${cpu}`;
  }

  /** Before a spawn of `svc`: its cgroup (made at its first start) to join; undefined when the kernel does not keep its limits; a string says why it cannot be made. */
  join(svc: Service): Joined | string | undefined {
    if (!this.manager || !hasLimits(svc) || this.enforcedBy(svc) === 'watcher') return undefined;
    let cgroup = this.cgroups.get(svc.name);
    if (!cgroup) {
      const made = this.manager.make(svc.name, svc.limits);
      if (!made.ok) return made.error;
      cgroup = made.value;
      this.cgroups.set(svc.name, cgroup);
    }
    const kills = cgroup.oomKills();
    return { procsFds: cgroup.procsFds, joinFailure: cgroup.joinFailure, oomKillsAtStart: kills.ok ? kills.value : undefined };
  }

  /**
   * After a spawn: a service the watcher keeps is watched from now on; `moveIn`: a process that could not join its
   * cgroup before exec (a terminal's) is moved in now. Says why a move failed.
   */
  started(svc: Service, pid: number, moveIn?: Joined): string | undefined {
    if (moveIn) {
      try {
        for (const fd of moveIn.procsFds) writeSync(fd, String(pid));
      } catch (err) {
        return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      }
    }
    if (this.enforcedBy(svc) !== 'watcher') return undefined;
    this.watcher ??= new LimitWatcher((name, overrun) => {
      if (overrun.kind === 'memory') this.countOomKill(name);
      this.onOverrun(name, overrun);
    });
    this.watcher.watch(svc.name, pid, svc.limits);
    return undefined;
  }

  /** The process ended: the watcher lets it go; a SIGKILL while its cgroup's OOM count went up was the OOM killer. */
  ended(svc: Service, joined: Joined | undefined, signal: string | null): OomKill | undefined {
    this.watcher?.unwatch(svc.name);
    if (signal !== 'SIGKILL' || joined?.oomKillsAtStart === undefined) return undefined;
    const now = this.cgroups.get(svc.name)?.oomKills();
    if (!now?.ok || now.value <= joined.oomKillsAtStart) return undefined;
    this.countOomKill(svc.name);
    return { by: 'kernel', limit: svc.limits.memory ?? null };
  }

  private countOomKill(service: string): void {
    this.oomKillCounts.set(service, (this.oomKillCounts.get(service) ?? 0) + 1);
  }

  oomKills(service: string): number {
    return this.oomKillCounts.get(service) ?? 0;
  }

  /** Bytes the service uses now: its cgroup's count (page cache included, as the limit counts it), else the watcher's last sum of RSS. */
  memory(svc: Service): number | null {
    const cgroup = this.cgroups.get(svc.name);
    if (cgroup) {
      const bytes = cgroup.memoryBytes();
      if (bytes.ok) return bytes.value;
    }
    return this.watcher?.memoryOf(svc.name) ?? null;
  }

  /** A reload removed or changed the service: its cgroup goes once empty (a changed one is made anew, with its new limits). */
  async forget(name: string): Promise<string | undefined> {
    this.watcher?.unwatch(name);
    const cgroup = this.cgroups.get(name);
    this.cgroups.delete(name);
    return cgroup?.remove();
  }

  /** At the end: every cgroup removed; what could not be, said. */
  async close(): Promise<string | undefined> {
    this.watcher?.close();
    const problems = (await Promise.all([...this.cgroups.keys()].map((name) => this.forget(name)))).filter((p): p is string => !!p);
    const closed = await this.manager?.close();
    if (closed) problems.push(closed);
    return problems.length ? problems.join('; ') : undefined;
  }
}

/** "300.2 MiB": an amount of memory in use, as a person reads it. */
export function mebibytes(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MiB`;
}

export function hasLimits(svc: Service): boolean {
  return svc.limits.memory !== undefined || svc.limits.cpu !== undefined || svc.limits.pids !== undefined;
}

/** "a, b, c", or "a, b, c and 97 more" */
function someOf(names: string[]): string {
  return names.length <= 4 ? names.join(', ') : `${names.slice(0, 3).join(', ')} and ${names.length - 3} more`;
}

/** "memory 256Mi, cpu 0.5, pids 200" */
export function limitsText(limits: Limits): string {
  return [
    ...(limits.memory === undefined ? [] : [`memory ${formatMemory(limits.memory)}`]),
    ...(limits.cpu === undefined ? [] : [`cpu ${formatCpu(limits.cpu)}`]),
    ...(limits.pids === undefined ? [] : [`pids ${limits.pids}`]),
  ].join(', ');
}
