// Writes a build context: Dockerfile, manifest.json, rootfs/ (the /etc
// files and the accounts spec) and copy/N (the `copy:` entries, in target
// order). The same evaluation always gives the same bytes and the same file
// modes: sorted entries; copied files also get a fixed mtime, since COPY
// carries it into the image.
import { chmodSync, existsSync, mkdirSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { makePath, MakePathError } from '../unix/make-path.js';
import { ACCOUNTS_PATH, copyPath, hasAccounts, renderDockerfile } from './dockerfile.js';
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
  build.copy.forEach((entry, index) => {
    const at = copyPath(index);
    if (entry.directory) makeDirs(out, at);
    for (const item of entry.items) {
      const relative = item.relative ? `${at}/${item.relative}` : at;
      write(relative, item.content, item.mode);
      utimesSync(join(out, relative), 0, 0);
    }
  });
  if (build.copy.length) fixTimes(join(out, 'copy'));
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

/** Directories too: COPY of a directory carries its mtime. */
function fixTimes(dir: string): void {
  for (const name of readdirSync(dir, { withFileTypes: true })) if (name.isDirectory()) fixTimes(join(dir, name.name));
  utimesSync(dir, 0, 0);
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
