// A fresh pids cgroup for a test: a v1 `pids` hierarchy (this kind of
// machine), else cgroup v2 with the pids controller enabled
// for the root's children. .ci/run makes sure CI has one of the two.
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sleep } from './wait.js';

export interface PidsCgroup {
  dir: string;
  /** write a pid here to move that process (and its future children) in */
  procs: string;
  /** removes the cgroup once the kernel has let its last process go */
  remove(): Promise<void>;
}

const V1_ROOT = '/sys/fs/cgroup/pids';
const V2_ROOT = '/sys/fs/cgroup';

function roots(): string[] {
  const found: string[] = [];
  if (existsSync(join(V1_ROOT, 'cgroup.procs'))) found.push(V1_ROOT);
  try {
    if (readFileSync(join(V2_ROOT, 'cgroup.subtree_control'), 'latin1').split(/\s+/).includes('pids')) found.push(V2_ROOT);
  } catch {
    // not a v2 root
  }
  return found;
}

/** A new pids cgroup limited to `max` processes, or the reason there can be none here. */
export function makePidsCgroup(name: string, max: number): PidsCgroup | { reason: string } {
  const tried: string[] = [];
  for (const root of roots()) {
    const dir = join(root, name);
    try {
      mkdirSync(dir);
      writeFileSync(join(dir, 'pids.max'), String(max));
    } catch (err) {
      tried.push(`${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      try {
        rmdirSync(dir);
      } catch {
        // never made
      }
      continue;
    }
    return { dir, procs: join(dir, 'cgroup.procs'), remove: () => removeWhenEmpty(dir) };
  }
  return { reason: tried.length ? `cannot make a pids cgroup (${tried.join('; ')})` : `no pids cgroup here: neither ${V1_ROOT} nor the pids controller in ${V2_ROOT}/cgroup.subtree_control (.ci/run sets one up)` };
}

async function removeWhenEmpty(dir: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    try {
      rmdirSync(dir);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      await sleep(100); // EBUSY: the namespace's last processes are still exiting
    }
  }
}

/** Why no pids cgroup can be made here, or undefined when one can (for `test.skip` with the reason). */
export function pidsCgroupProblem(): string | undefined {
  const probe = makePidsCgroup(`berth-probe-${process.pid}`, 10);
  if ('reason' in probe) return probe.reason;
  rmdirSync(probe.dir);
  return undefined;
}
