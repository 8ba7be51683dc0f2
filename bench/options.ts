// The bench's command line: which benchmarks, how many runs, which peers.
import { baselinePeer, type Baseline } from './lib/baseline.js';
import { PEERS, type Peer, type PeerName } from './lib/peers.js';
import type { OrphanKind } from './lib/zombies.js';

export interface Options {
  runs: number;
  cpuSeconds: number;
  zombies: number;
  zombieRuns: number;
  orphans: OrphanKind;
  /** the jobs benchmark: minutes of every-minute runs */
  jobMinutes: number;
  /** names of the benchmarks to run (see BENCHMARKS in run.ts) */
  only: Set<string>;
  peers: Set<PeerName>;
  /** --baseline DIR: Berth from that checkout, run beside this one */
  baseline?: Baseline;
}

export const USAGE = `usage: node dist/bench/run.js [--quick] [--runs N] [--cpu-seconds S] [--zombies N] [--zombie-runs N]
                                [--orphans clone|fork] [--only start,restart,cpu,zombies,ready,probes,logs,first,jobs,limits,config,daemons,shutdown]
                                [--peers berth,s6,tini] [--baseline DIR] [--job-minutes N]`;

/** Parses argv; `names` are the benchmarks --only may pick from (all by default). */
export function parseOptions(argv: string[], names: string[]): Options {
  const o: Options = {
    runs: 5,
    cpuSeconds: 30,
    zombies: 10_000,
    zombieRuns: 5,
    orphans: 'clone',
    jobMinutes: 2,
    only: new Set(names),
    peers: new Set<PeerName>(['berth', 's6', 'tini', 'node', 'spawner']),
  };
  if (argv.includes('--quick')) Object.assign(o, { runs: 3, cpuSeconds: 5, zombieRuns: 1, jobMinutes: 1 });
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value\n${USAGE}`);
      return v;
    };
    const count = (min: number, max: number): number => {
      const n = Number(value());
      if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${a} must be a whole number from ${min} to ${max}`);
      return n;
    };
    if (a === '--quick') continue;
    else if (a === '--runs') o.runs = count(1, 50);
    else if (a === '--cpu-seconds') o.cpuSeconds = count(1, 600);
    else if (a === '--zombies') o.zombies = count(1, 20_000);
    else if (a === '--zombie-runs') o.zombieRuns = count(1, 50);
    else if (a === '--job-minutes') o.jobMinutes = count(1, 30);
    else if (a === '--orphans') {
      const v = value();
      if (v !== 'clone' && v !== 'fork') throw new Error('--orphans must be clone or fork');
      o.orphans = v;
    } else if (a === '--only') o.only = new Set(value().split(',').map((s) => (s === 'memory' ? 'start' : s)));
    else if (a === '--peers') o.peers = new Set([...(value().split(',') as PeerName[]), 'berth', 'node', 'spawner']);
    else if (a === '--baseline') o.baseline = baselinePeer(value());
    else if (a === '--help' || a === '-h') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else throw new Error(`unknown option ${a}\n${USAGE}`);
  }
  for (const s of o.only) if (!names.includes(s)) throw new Error(`--only: unknown benchmark '${s}'`);
  if (o.baseline?.missing) throw new Error(`--baseline: ${o.baseline.missing}`);
  // after the loop: --peers replaces the set
  if (o.baseline) o.peers.add('baseline');
  return o;
}

/** The baseline is made from --baseline's DIR, so it lives in the options; the other peers are fixed. */
function peerOf(o: Options, name: PeerName): Peer | undefined {
  return name === 'baseline' ? o.baseline : PEERS[name];
}

/** The peer, when it is selected and installed. */
export function peerUsable(o: Options, name: PeerName): Peer | undefined {
  const p = peerOf(o, name);
  return o.peers.has(name) && p && !p.missing ? p : undefined;
}

/** "not installed …" / "not selected" for a peer that will not run, else undefined. */
export function absent(o: Options, name: PeerName): string | undefined {
  const p = peerOf(o, name);
  return o.peers.has(name) && p ? p.missing : 'not selected';
}
