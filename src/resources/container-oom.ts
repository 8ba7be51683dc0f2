// An OOM kill above a service's own limit: the container's (or, on a laptop,
// the session's) memory cgroup ran out, and the kernel killed a process in
// it. Its `oom_kill` count is readable without privilege, so an exit by
// SIGKILL while that count rose is named an OOM kill even for a service
// with no limit of its own, or one kept by the watcher.
import { readFileSync } from 'node:fs';
import { ownOomCounter } from './detect.js';

export class ContainerOom {
  private last: number | undefined;

  private constructor(private readonly file: string) {
    this.last = this.count();
  }

  /** The counter of the init's own memory cgroup, with its count now; undefined where there is none to read. */
  static open(): ContainerOom | undefined {
    try {
      const file = ownOomCounter(readFileSync('/proc/self/mountinfo', 'latin1'), readFileSync('/proc/self/cgroup', 'latin1'));
      const counter = file === undefined ? undefined : new ContainerOom(file);
      return counter?.last === undefined ? undefined : counter;
    } catch {
      return undefined;
    }
  }

  /** True when the count rose since the last look (or since the init started). */
  rose(): boolean {
    const now = this.count();
    const rose = now !== undefined && this.last !== undefined && now > this.last;
    if (now !== undefined) this.last = now;
    return rose;
  }

  private count(): number | undefined {
    try {
      const m = /^oom_kill (\d+)$/m.exec(readFileSync(this.file, 'latin1'));
      return m ? Number(m[1]) : undefined;
    } catch {
      return undefined;
    }
  }
}
