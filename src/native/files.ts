// Small files read and written whole, one native call each (files.c): the
// configuration stage's env and secret files and rendered files, where
// Node's fs took five or six calls a file.
import { errnoName } from '../unix/errno.js';
import { loadNative } from './addon.js';

/** What is at a path that is not a regular file. */
export type NotRegular = 'directory' | 'FIFO' | 'character device' | 'block device' | 'socket';

/** Most env and secret files fit: read into it, they need no Buffer of their own. */
const SCRATCH_BYTES = 64 * 1024;
let scratch: Buffer | undefined;

/**
 * A regular file's bytes (limit + 1 of them when it is longer than `limit`), or the errno's name, or what it is
 * instead. The bytes may be a view of a buffer the next call reuses: decode them before reading another file.
 */
export function readRegularFile(path: string, limit: number): { bytes: Buffer } | { errno: string } | { notRegular: NotRegular } {
  scratch ??= Buffer.allocUnsafeSlow(SCRATCH_BYTES);
  const r = loadNative().readRegularFile(path, limit, scratch);
  if (typeof r === 'string') return { notRegular: r as NotRegular };
  if (typeof r !== 'number') return { bytes: r };
  return r < 0 ? { errno: errnoName(-r) } : { bytes: scratch.subarray(0, r) };
}

/**
 * `bytes` at `path` through `temp` (see files.c), given to `owner` when there is one: 'written', 'unchanged' (it held
 * them already, with that mode and owner: nothing was written), or the errno's name.
 */
export function writeFileAtomically(temp: string, path: string, mode: number, owner: { uid: number; gid: number } | undefined, bytes: Buffer): 'written' | 'unchanged' | string {
  const r = loadNative().writeFileAtomically(temp, path, mode, owner?.uid ?? -1, owner?.gid ?? -1, bytes);
  return r === 0 ? 'written' : r === 1 ? 'unchanged' : errnoName(-r);
}
