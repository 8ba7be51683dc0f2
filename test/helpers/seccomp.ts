// test/fixtures/c/deny-syscall.c, built into a test's temp dir: runs a
// program with one syscall refused (EPERM), as some seccomp profiles do.
import type { ExecutionContext } from 'ava';
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { root, tempDir } from './init.js';

/** The wrapper's path, in a temp dir of the test's own; undefined after failing the test when it cannot be built (cc is needed for the native addon too). */
export function buildDenySyscall(t: ExecutionContext): string | undefined {
  const dir = tempDir();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'deny-syscall');
  try {
    execFileSync('cc', ['-O2', '-o', path, join(root, 'test/fixtures/c/deny-syscall.c')], { stdio: 'pipe' });
    return path;
  } catch (err) {
    t.fail(`cannot build the seccomp wrapper: ${(err as Error).message}`);
    return undefined;
  }
}
