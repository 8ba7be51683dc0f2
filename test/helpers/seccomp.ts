// test/fixtures/c/deny-syscall.c, built into a test's temp dir: runs a
// program with one syscall refused (EPERM), as some seccomp profiles do.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { root } from './init.js';

/** The wrapper's path, or why it could not be built (cc is needed for the native addon too). */
export function buildDenySyscall(dir: string): { path: string } | { problem: string } {
  const path = join(dir, 'deny-syscall');
  try {
    execFileSync('cc', ['-O2', '-o', path, join(root, 'test/fixtures/c/deny-syscall.c')], { stdio: 'pipe' });
    return { path };
  } catch (err) {
    return { problem: `cannot build the seccomp wrapper: ${(err as Error).message}` };
  }
}
