// Reads a manifest or an image definition as UTF-8 text, or says in one line
// why not. Only regular files are read, and that is checked before the open:
// opening a FIFO blocks until a writer comes (forever, in a container) and a
// device may never end. Reading stops one byte past the size limit, so a
// file that lies about its size (/proc, a growing log) cannot exhaust memory.
import { closeSync, constants, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { type Position, positionAt } from './locate.js';

export type TextOrProblem = { text: string } | { problem: string; at?: Position };

export interface ReadLimits {
  /** 'manifest' or 'image definition', for the messages. */
  what: string;
  maxBytes: number;
}

export function readTextFile(file: string, { what, maxBytes }: ReadLimits): TextOrProblem {
  let fd: number | undefined;
  try {
    const info = statSync(file);
    const notFile = notRegular(info, what);
    if (notFile) return { problem: notFile };
    if (info.size > maxBytes) return { problem: tooBig(what, maxBytes, info.size) };
    // O_NONBLOCK: should the path become a FIFO after the stat, open still returns at once.
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
    const opened = fstatSync(fd);
    const swapped = notRegular(opened, what);
    if (swapped) return { problem: swapped };
    const bytes = readUpTo(fd, maxBytes + 1, opened.size);
    if (bytes.length > maxBytes) return { problem: tooBig(what, maxBytes) };
    return decode(bytes, what);
  } catch (error) {
    return { problem: readError(error as NodeJS.ErrnoException) };
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** "16 MiB", as the README states the limits. */
function formatSize(bytes: number): string {
  return bytes % 2 ** 20 === 0 ? `${bytes / 2 ** 20} MiB` : `${bytes} bytes`;
}

function notRegular(info: Stats, what: string): string | undefined {
  if (info.isFile()) return undefined;
  const kind = info.isDirectory() ? 'a directory'
    : info.isFIFO() ? 'a FIFO (named pipe)'
    : info.isCharacterDevice() ? 'a character device'
    : info.isBlockDevice() ? 'a block device'
    : info.isSocket() ? 'a socket' : 'not a regular file';
  return `this is ${kind}; give the path of ${article(what)} ${what} file`;
}

function tooBig(what: string, maxBytes: number, size?: number): string {
  const actual = size === undefined ? `larger than ${formatSize(maxBytes)}` : `${(size / 2 ** 20).toFixed(1)} MiB`;
  return `the file is ${actual}; ${article(what)} ${what} is at most ${formatSize(maxBytes)} — is it the right file?`;
}

/**
 * At most `limit` bytes from `fd`, read until EOF or the limit. `size` (the
 * file's size from fstat) sizes the first read, one byte over to see EOF or
 * growth: a buffer of the limit for each small file cost ~0.1 ms apiece.
 * Given a size, `fd` is a regular file, whose short read is its end.
 */
export function readUpTo(fd: number, limit: number, size = 0): Buffer {
  const chunks: Buffer[] = [];
  let total = 0;
  while (total < limit) {
    const want = total === 0 && size > 0 ? size + 1 : 1 << 16;
    const chunk = Buffer.allocUnsafe(Math.min(limit - total, want));
    const n = readSync(fd, chunk, 0, chunk.length, null);
    if (n === 0) break;
    chunks.push(chunk.subarray(0, n));
    total += n;
    // a regular file (its size known) that gave less than asked is at its end: no read for the 0
    if (size > 0 && n < chunk.length) break;
  }
  return Buffer.concat(chunks, total);
}

function decode(bytes: Buffer, what: string): TextOrProblem {
  const nul = bytes.indexOf(0);
  if (nul >= 0) {
    const prefix = new TextDecoder('utf-8').decode(bytes.subarray(0, nul));
    return { problem: `this is binary data, not a YAML or JSON ${what}`, at: positionAt(prefix, prefix.length) };
  }
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(bytes).replace(/^\uFEFF/, '') };
  } catch {
    return { problem: `the file is not UTF-8 text (binary data?); ${article(what)} ${what} is YAML or JSON saved as UTF-8` };
  }
}

function readError(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'ENOENT': return 'no such file';
    case 'EACCES':
    case 'EPERM': return 'permission denied: cannot read the file';
    case 'ENOTDIR': return 'no such file: a part of the path is not a directory';
    case 'ELOOP': return 'too many symbolic links (a loop?)';
    case 'ENAMETOOLONG': return 'the path is too long';
    default: return `cannot read the file: ${error.code ?? error.message}`;
  }
}

function article(word: string): string {
  return /^[aeiou]/i.test(word) ? 'an' : 'a';
}
