// Where the commands look by default: the manifest an image installs, and the
// state dir of the init they talk to (README.md, "Operating a running init":
// flag, then environment, then the image's default).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CONTROL_SOCKET, DEFAULT_STATE_DIR, fallbackStateDirs } from '../control/state-dir.js';
import type { ParsedArgs } from './args.js';

export const DEFAULT_MANIFEST = '/etc/berth/manifest.json';

export function manifestPath(given: string | undefined): string {
  return given ?? (process.env.BERTH_MANIFEST || DEFAULT_MANIFEST);
}

/**
 * The state dir a control command talks to: --state-dir, then
 * $BERTH_STATE_DIR, then the first of /run/berth and the fallbacks an init
 * uses where it cannot write /run/berth (a non-root, read-only container)
 * that has a control socket.
 */
export function stateDirOf(args: ParsedArgs, positional?: string): string {
  const given = (args.flags.get('--state-dir') as string | undefined) ?? positional ?? (process.env.BERTH_STATE_DIR || undefined);
  if (given !== undefined) return given;
  const candidates = [DEFAULT_STATE_DIR, ...fallbackStateDirs()];
  return candidates.find((dir) => existsSync(join(dir, CONTROL_SOCKET))) ?? DEFAULT_STATE_DIR;
}
