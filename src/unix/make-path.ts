// `mkdir -p` that cannot loop: Node 20's mkdirSync(…, { recursive: true })
// spins for ever on a path under /proc whose parent is missing (mkdir says
// ENOENT, the parent says EEXIST, again and again). One level at a time,
// each level tried once, every failure an error that names the level.
import { mkdirSync, statSync } from 'node:fs';
import { resolve, sep } from 'node:path';

/** A directory that could not be made: `code` is the errno's name (ENOTDIR: a file where a directory should be). */
export class MakePathError extends Error {
  constructor(
    readonly path: string,
    readonly code: string,
  ) {
    super(`${path}: ${code}`);
  }
}

/** Makes `path` and any missing parent, at most one mkdir per level; new levels get `mode`. */
export function makePath(path: string, mode = 0o777): void {
  const parts = resolve(path).split(sep).filter(Boolean);
  let at = '';
  for (const part of parts) {
    at += `${sep}${part}`;
    try {
      mkdirSync(at, { mode });
      continue;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
      if (code !== 'EEXIST') throw new MakePathError(at, code);
    }
    let isDir: boolean;
    try {
      isDir = statSync(at).isDirectory();
    } catch (err) {
      throw new MakePathError(at, (err as NodeJS.ErrnoException).code ?? 'EIO');
    }
    if (!isDir) throw new MakePathError(at, 'ENOTDIR');
  }
}
