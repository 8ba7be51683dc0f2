// Where the commands look by default: the manifest an image installs, and the
// state dir of the init they talk to (CONTRACT.md: flag, then environment,
// then the image's default).
import { DEFAULT_STATE_DIR } from '../control/state-dir.js';
import type { ParsedArgs } from './args.js';

export const DEFAULT_MANIFEST = '/etc/berth/manifest.json';

export function manifestPath(given: string | undefined): string {
  return given ?? process.env.BERTH_MANIFEST ?? DEFAULT_MANIFEST;
}

/** The state dir a control command talks to: --state-dir, then $BERTH_STATE_DIR, then /run/berth. */
export function stateDirOf(args: ParsedArgs, positional?: string): string {
  return (args.flags.get('--state-dir') as string | undefined) ?? positional ?? (process.env.BERTH_STATE_DIR || DEFAULT_STATE_DIR);
}
