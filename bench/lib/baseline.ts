// --baseline DIR: Berth built in another checkout (the code before a change),
// run as this one is and beside it in every run, so before and after are
// measured on the same machine at the same moment.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { berthPeer, initCommand, type Peer, type PeerName } from './peers.js';
import { rotated } from './stats.js';

export interface Baseline extends Peer {
  /** the checkout, absolute */
  root: string;
}

/** The Berth in `dir`, or why it cannot run ("not built …"). */
export function baselinePeer(dir: string): Baseline {
  const root = resolve(dir);
  let missing: string | undefined;
  try {
    const entry = initCommand(root).at(-1)!;
    const addon = join(root, 'build/Release');
    if (!existsSync(entry)) missing = `not built (${entry} missing: cd ${root} && npm ci)`;
    else if (!existsSync(addon)) missing = `not built (${addon} missing: cd ${root} && npm ci)`;
  } catch (err) {
    missing = `not a Berth checkout (${(err as Error).message})`;
  }
  return { ...berthPeer('baseline', root, missing), root };
}

/** `names` with the baseline next to Berth, the two taking turns to go first from run to run: neither always starts on the warmer cache. */
export function besideBerth<N extends PeerName>(names: readonly N[], run: number): Array<N | 'berth' | 'baseline'> {
  return names.flatMap((n): Array<N | 'berth' | 'baseline'> => (n === 'berth' ? rotated(['berth', 'baseline'] as const, run) : [n]));
}
