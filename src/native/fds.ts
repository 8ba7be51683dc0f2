// Descriptors every room needs from the addon: close-on-exec pipes (a
// service's output, its readiness fd, an execLogger's stdin), a pipe's
// capacity, and the fd table grown once before a start burst.
import { constants } from 'node:os';
import { errnoName } from '../unix/errno.js';
import { loadNative } from './addon.js';

/** A pipe whose ends close on exec; spawn dup2s them where a child needs them. */
export function makePipe(nonBlocking = false): { read: number; write: number } {
  const fds = loadNative().pipe(nonBlocking);
  if (typeof fds === 'number') throw new Error(`cannot make a pipe: ${errnoName(-fds)}${-fds === constants.errno.EMFILE || -fds === constants.errno.ENFILE ? ' (out of file descriptors: see ulimit -n)' : ''}`);
  return { read: fds[0], write: fds[1] };
}

/** Asks the kernel for a pipe of `bytes` capacity; false when refused (the per-user pipe quota), and the pipe keeps its size. */
export function setPipeSize(fd: number, bytes: number): boolean {
  return loadNative().setPipeSize(fd, bytes) === 0;
}

/** Node's own descriptors, and the table size the kernel starts every process with. */
const NODE_FDS = 32;
const FIRST_TABLE = 64;

/**
 * Grows the fd table, in the background, to what `services` will hold (a
 * pipe end or two each): once, instead of doubling it four or five times in
 * the middle of a start burst (grow_fd_table in fds.c). Only a matter of
 * speed: a refusal changes nothing.
 */
export function reserveDescriptors(services: number): void {
  const count = NODE_FDS + 2 * services;
  if (count > FIRST_TABLE) loadNative().reserveFds(count);
}
