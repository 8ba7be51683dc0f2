// The soak's command line: how long, which seed, PID 1 or a plain process.
//   --minutes N | --seconds N   how long the driver acts (fractions allowed; default 5 minutes)
//   --seed S                    replay the choices of an earlier run
//   --no-pid1                   run the init as a plain process (a child subreaper), not as PID 1
//   --no-reload-race            never start or restart a service while a reload stops it (nor the
//                               other way round), nor reload twice at once (for replaying runs of
//                               builds from before control actions waited for a reload)
//   --allow-stall-splits        a line that comes in pieces though its writer was never stopped is
//                               counted, not a failure (for builds from before the relay read its
//                               pipe before declaring a stall)
import { freshSeed } from './random.js';

export interface SoakOptions {
  durationMs: number;
  seed: number;
  pid1: boolean;
  raceReload: boolean;
  allowStallSplits: boolean;
}

export const usage = `npm run soak -- [--minutes N | --seconds N] [--seed S] [--no-pid1] [--no-reload-race] [--allow-stall-splits]
  Runs a real berth init with a mix of services while a seeded driver kills,
  stops, restarts and reloads them, scrapes its HTTP endpoint and follows its
  logs; fails (exit 1) with the first broken invariant. Default: 5 minutes.`;

export class OptionsError extends Error {}

export function parseOptions(argv: string[]): SoakOptions {
  let durationMs = 5 * 60_000;
  let seed: number | undefined;
  let pid1 = true;
  let raceReload = true;
  let allowStallSplits = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (): number => {
      const text = argv[++i];
      const n = Number(text);
      if (text === undefined || text.trim() === '' || !Number.isFinite(n) || n < 0) throw new OptionsError(`${arg} takes a number, not '${text ?? ''}'`);
      return n;
    };
    if (arg === '--minutes') durationMs = value() * 60_000;
    else if (arg === '--seconds') durationMs = value() * 1000;
    else if (arg === '--seed') {
      seed = value();
      if (!Number.isInteger(seed) || seed >= 2 ** 32) throw new OptionsError(`--seed takes a whole number below 2^32, not '${argv[i]}'`);
    } else if (arg === '--no-pid1') pid1 = false;
    else if (arg === '--no-reload-race') raceReload = false;
    else if (arg === '--allow-stall-splits') allowStallSplits = true;
    else throw new OptionsError(`unknown argument '${arg}'`);
  }
  if (durationMs < 10_000) throw new OptionsError('a soak runs at least 10 seconds');
  return { durationMs: Math.round(durationMs), seed: seed ?? freshSeed(), pid1, raceReload, allowStallSplits };
}
