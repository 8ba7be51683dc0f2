// Writes a build context: Dockerfile, manifest.json and rootfs/ (the /etc
// files and the accounts spec). The same evaluation always gives the same
// bytes and the same file modes: sorted entries, no timestamps.
import { chmodSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { makePath, MakePathError } from '../unix/make-path.js';
import { ACCOUNTS_PATH, hasAccounts, renderDockerfile } from './dockerfile.js';
import type { ImageBuild } from './evaluate.js';

/** Marks a directory as berth build's own, so a later build may empty it. */
export const MARKER = '.berth-build';

export class ContextError extends Error {}

/** Returns the files written, relative to `out`, sorted. */
export function writeBuildContext(build: ImageBuild, out: string, sourceFile: string): string[] {
  prepare(out);
  const written: string[] = [];
  const write = (relative: string, content: string | Buffer, mode = 0o644) => {
    const path = join(out, relative);
    makeDirs(out, dirname(relative));
    writeFileSync(path, content);
    chmodSync(path, mode);
    written.push(relative);
  };
  write(MARKER, 'This directory is written by `berth build`; it is emptied and rewritten by the next build.\n');
  write('Dockerfile', renderDockerfile(build, basename(sourceFile)));
  write('manifest.json', `${JSON.stringify(build.manifest, null, 2)}\n`);
  for (const file of build.etc) write(`rootfs/etc/${file.target}`, file.content, file.mode);
  if (hasAccounts(build)) write(`rootfs${ACCOUNTS_PATH}`, `${JSON.stringify(build.accounts, null, 2)}\n`);
  return written.sort();
}

function prepare(out: string): void {
  if (existsSync(out)) {
    const entries = readdirSync(out);
    if (entries.length && !entries.includes(MARKER)) {
      throw new ContextError(`${out} is not empty and was not written by berth build; choose an empty or new directory with -o`);
    }
    rmSync(out, { recursive: true, force: true });
  }
  try {
    makePath(out);
  } catch (err) {
    if (!(err instanceof MakePathError)) throw err;
    throw new ContextError(`cannot make ${out}: ${err.code}${err.path === resolve(out) ? '' : ` at ${err.path}`}`);
  }
}

/** Creates directories one level at a time with mode 0755 whatever the umask: COPY carries modes into the image. */
function makeDirs(out: string, relative: string): void {
  if (relative === '.' || relative === '') return;
  let path = out;
  for (const part of relative.split('/')) {
    path = join(path, part);
    if (!existsSync(path)) {
      mkdirSync(path);
      chmodSync(path, 0o755);
    }
  }
}
