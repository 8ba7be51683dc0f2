// The cgroup filesystem as the manager touches it: make and remove a
// directory, read and write an interface file, open cgroup.procs for a
// spawn. Each failure is a CgroupFsError naming the path and the errno; the
// manager turns it into a message, so none escapes to PID 1. Tests pass a
// fake (a temp dir that behaves like cgroupfs) in place of realFs.
import { accessSync, closeSync, constants, mkdirSync, openSync, readFileSync, rmdirSync, writeSync } from 'node:fs';

export type Result<T> = { ok: true; value: T } | { ok: false; error: string };

export class CgroupFsError extends Error {
  constructor(
    readonly path: string,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface CgroupFs {
  mkdir(path: string): void;
  rmdir(path: string): void;
  read(path: string): string;
  /** one write(2) of `text`: the kernel takes a cgroup file's value whole or refuses it */
  write(path: string, text: string): void;
  exists(path: string): boolean;
  /** O_WRONLY | O_CLOEXEC (libuv adds the latter), for the child to write "0" into */
  openProcs(path: string): number;
  close(fd: number): void;
}

/** Runs `fn`, turning Node's errno error into a CgroupFsError that says what failed where. */
export function wrap<T>(what: string, path: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (!e.code) throw err;
    // Node's message opens with "EINVAL: invalid argument"
    throw new CgroupFsError(path, e.code, `cannot ${what} ${path}: ${e.message.split(',')[0]}`);
  }
}

export const realFs: CgroupFs = {
  mkdir: (path) => wrap('make', path, () => mkdirSync(path)),
  rmdir: (path) => wrap('remove', path, () => rmdirSync(path)),
  read: (path) => wrap('read', path, () => readFileSync(path, 'latin1')),
  // no O_CREAT, no O_TRUNC: a missing file is the kernel saying the controller is not there
  write: (path, text) =>
    wrap(`write '${text}' to`, path, () => {
      const fd = openSync(path, constants.O_WRONLY);
      try {
        writeSync(fd, text);
      } finally {
        closeSync(fd);
      }
    }),
  exists: (path) => {
    try {
      accessSync(path);
      return true;
    } catch {
      return false;
    }
  },
  openProcs: (path) => wrap('open', path, () => openSync(path, constants.O_WRONLY)),
  close: (fd) => closeSync(fd),
};

/** Runs `fn` at a public boundary: a CgroupFsError becomes its message. */
export function attempt<T>(fn: () => T): Result<T> {
  try {
    return { ok: true, value: fn() };
  } catch (err) {
    if (err instanceof CgroupFsError) return { ok: false, error: err.message };
    return { ok: false, error: `cgroups: ${(err as Error).message}` };
  }
}
