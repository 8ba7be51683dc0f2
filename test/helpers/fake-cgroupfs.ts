// A cgroup tree in a temp dir that keeps the kernel's rules the manager
// relies on, for the v2 paths this machine's kernel cannot run (its memory,
// cpu and pids controllers are bound to v1): mkdir makes a cgroup's interface
// files for the controllers its parent enables, subtree_control takes only
// what cgroup.controllers offers and refuses a cgroup with processes (EBUSY,
// the no-internal-processes rule), cgroup.procs moves a pid (refused into a
// cgroup that enables controllers), rmdir refuses a populated cgroup.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync, openSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CgroupFsError, realFs, type CgroupFs } from '../../src/resources/cgroup-fs.js';

const FILES: Record<string, string[]> = {
  memory: ['memory.max', 'memory.oom.group', 'memory.swap.max', 'memory.current', 'memory.events'],
  cpu: ['cpu.max'],
  pids: ['pids.max', 'pids.current'],
};

export class FakeCgroupTree implements CgroupFs {
  readonly root = mkdtempSync(join(tmpdir(), 'berth-fake-cgroup-'));
  /** path → the errno its next write fails with */
  readonly refusals = new Map<string, string>();
  readonly writes: [string, string][] = [];

  constructor(controllers: string[], pids: number[]) {
    this.populate(this.root, controllers);
    writeFileSync(join(this.root, 'cgroup.procs'), pids.map((p) => `${p}\n`).join(''));
  }

  cleanup(): void {
    rmSync(this.root, { recursive: true, force: true });
  }

  private populate(dir: string, offered: string[]): void {
    writeFileSync(join(dir, 'cgroup.controllers'), offered.join(' '));
    writeFileSync(join(dir, 'cgroup.subtree_control'), '');
    writeFileSync(join(dir, 'cgroup.procs'), '');
    for (const c of offered) for (const f of FILES[c] ?? []) writeFileSync(join(dir, f), f === 'memory.events' ? 'low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n' : f.endsWith('.max') ? 'max' : '0');
  }

  private fail(path: string, code: string): never {
    throw new CgroupFsError(path, code, `cannot touch ${path}: ${code}`);
  }

  private list(file: string): string[] {
    return readFileSync(file, 'latin1').split(/\s+/).filter(Boolean);
  }

  private cgroups(dir = this.root): string[] {
    return [dir, ...readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).flatMap((e) => this.cgroups(join(dir, e.name)))];
  }

  mkdir(path: string): void {
    if (existsSync(path)) this.fail(path, 'EEXIST');
    mkdirSync(path);
    this.populate(path, this.list(join(dirname(path), 'cgroup.subtree_control')));
  }

  rmdir(path: string): void {
    if (!existsSync(path)) this.fail(path, 'ENOENT');
    if (this.list(join(path, 'cgroup.procs')).length || readdirSync(path, { withFileTypes: true }).some((e) => e.isDirectory())) this.fail(path, 'EBUSY');
    rmSync(path, { recursive: true });
  }

  read(path: string): string {
    return realFs.read(path);
  }

  write(path: string, text: string): void {
    const refusal = this.refusals.get(path);
    if (refusal) this.fail(path, refusal);
    if (!existsSync(path)) this.fail(path, 'ENOENT');
    this.writes.push([path.slice(this.root.length), text]);
    const dir = dirname(path);
    if (path.endsWith('cgroup.subtree_control')) {
      const c = text.replace(/^\+/, '');
      if (!this.list(join(dir, 'cgroup.controllers')).includes(c)) this.fail(path, 'EINVAL');
      if (dir !== this.root && this.list(join(dir, 'cgroup.procs')).length) this.fail(path, 'EBUSY');
      const now = new Set([...this.list(path), c]);
      writeFileSync(path, [...now].join(' '));
    } else if (path.endsWith('cgroup.procs')) {
      if (this.list(join(dir, 'cgroup.subtree_control')).length) this.fail(path, 'EBUSY');
      for (const cg of this.cgroups()) {
        const procs = join(cg, 'cgroup.procs');
        writeFileSync(procs, this.list(procs).filter((p) => p !== text).map((p) => `${p}\n`).join(''));
      }
      writeFileSync(path, `${readFileSync(path, 'latin1')}${text}\n`);
    } else writeFileSync(path, text);
  }

  exists(path: string): boolean {
    return existsSync(path);
  }

  openProcs(path: string): number {
    if (!existsSync(path)) this.fail(path, 'ENOENT');
    return openSync(path, 'r');
  }

  close(fd: number): void {
    closeSync(fd);
  }
}

