// 13: a real daemon's readiness (#28). Debian's PostgreSQL as the
// postgresql module defines it, on a cluster initialised once and copied
// for each run, three ways side by side in each round, each timed from the
// init's exec to the moment a task that waits for the server starts (what
// "ready" buys whatever depends on it):
//   notify   readiness: { notify: true } (the module's: the server says so)
//   probe    readiness: an exec probe, pg_isready every 1 s (what a
//            readiness check without the protocol does)
//   loop     no readiness; the dependent task itself loops
//            `until pg_isready; do sleep 1; done` (the entrypoint.sh people
//            write by hand)
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evaluateImage } from '../../src/image/evaluate.js';
import type { Benchmark, Section, Target } from '../lib/benchmark.js';
import { warnings, withInstance, type Services } from '../lib/instance.js';
import { waitQuiet } from '../lib/machine.js';
import { berthLaunch, PEERS, type Peer } from '../lib/peers.js';
import { fmt, num, Samples } from '../lib/stats.js';
import type { Options } from '../options.js';
import { label, progress } from '../report.js';

const POSTGRES_BIN = '/usr/lib/postgresql/15/bin';
const CASES = ['notify', 'probe', 'loop'] as const;
type Case = (typeof CASES)[number];
const NAMES: Record<Case, string> = { notify: 'notification', probe: 'pg_isready probe, 1 s', loop: 'pg_isready loop' };
const READY_TIMEOUT_MS = 60_000;

export interface DaemonsResult {
  ready: Record<Case, Samples>;
}

/** A cluster made once by initdb, as the module's initdb task would; each run copies it. */
function template(): string | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'berth-bench-pg-'));
  chmodSync(dir, 0o755);
  const data = join(dir, 'data');
  mkdirSync(data, { mode: 0o700 });
  execFileSync('chown', ['postgres:postgres', data]);
  execFileSync('setpriv', ['--reuid', 'postgres', '--regid', 'postgres', '--init-groups', `${POSTGRES_BIN}/initdb`, '-D', data, '-U', 'postgres', '--auth-local=peer'], { stdio: 'ignore', timeout: 60_000 });
  return dir;
}

/** The module's manifest for a server on `port` with its data in `data`; the waiting task per case. */
function manifestFor(dir: string, data: string, port: number, c: Case, fifo: string): object {
  const def = join(dir, 'image.yaml');
  writeFileSync(def, `services:\n  postgresql: { enable: true, port: ${port}, dataDir: ${data} }\n`);
  const evaluation = evaluateImage(def);
  if (!evaluation.build) throw new Error(`the postgresql module does not evaluate: ${JSON.stringify(evaluation.problems)}`);
  const services = structuredClone(evaluation.build.manifest.services) as Record<string, Record<string, unknown>>;
  const isReady = `pg_isready -q -h /run/postgresql -p ${port}`;
  if (c === 'probe') services.postgresql.readiness = { exec: isReady, interval: '1s' };
  if (c === 'loop') delete services.postgresql.readiness;
  services.waiter = c === 'loop'
    ? { type: 'oneshot-post', after: ['postgresql'], script: `until ${isReady}; do sleep 1; done; echo up > ${fifo}` }
    : { type: 'oneshot-post', after: ['postgresql'], script: `echo up > ${fifo}` };
  return { version: 1, services };
}

async function measure(o: Options): Promise<DaemonsResult> {
  const r: DaemonsResult = { ready: { notify: new Samples(), probe: new Samples(), loop: new Samples() } };
  const missing = PEERS.berth.missing ?? (process.getuid?.() !== 0 ? 'needs root' : !existsSync(`${POSTGRES_BIN}/postgres`) ? `no ${POSTGRES_BIN}/postgres (apt-get install postgresql-15)` : undefined);
  if (missing) {
    warnings.push(`daemons: ${missing}`);
    return r;
  }
  const made = template();
  if (!made) return r;
  try {
    for (let run = 0; run < o.runs; run++) {
      progress(`daemons: run ${run + 1}/${o.runs}`);
      for (const c of CASES.map((_, i) => CASES[(i + run) % CASES.length])) {
        await waitQuiet();
        const peer: Peer = {
          ...PEERS.berth,
          prepare(dir) {
            chmodSync(dir, 0o755);
            const data = join(dir, 'data');
            execFileSync('cp', ['-a', join(made, 'data'), data]);
            return berthLaunch(dir, manifestFor(dir, data, 25000 + (process.pid % 1000), c, join(dir, 'events')));
          },
        };
        const none: Services = () => [];
        try {
          await withInstance(peer, none, async (inst) => {
            const [up] = await inst.fifo.waitFor((e) => e.text.startsWith('up'), 1, READY_TIMEOUT_MS);
            r.ready[c].add(up.t - inst.init.t0);
          });
        } catch (err) {
          warnings.push(`daemons ${c} run ${run + 1}: ${(err as Error).message}`);
        }
      }
    }
  } finally {
    rmSync(made, { recursive: true, force: true });
  }
  return r;
}

function report(r: DaemonsResult): Section {
  const lines = ['13. PostgreSQL ready: exec → a task that waits for the server starts, its cluster made beforehand'];
  for (const c of CASES) lines.push(`   ${label(NAMES[c])}${fmt(r.ready[c].summary, 'ms')}`);
  const notify = r.ready.notify.summary;
  const probe = r.ready.probe.summary;
  const loop = r.ready.loop.summary;
  const targets: Target[] = [{
    what: 'PostgreSQL ready, by notification',
    target: 'sooner than a 1 s probe and a pg_isready loop (#28)',
    berth: notify ? `${num(notify.median)} ms` : 'no data',
    pass: notify && probe && loop ? notify.median < probe.median && notify.median < loop.median : undefined,
    peers: `probe ${fmt(probe, 'ms')}; loop ${fmt(loop, 'ms')}`,
  }];
  return { lines, targets };
}

export const daemons: Benchmark<DaemonsResult> = { name: 'daemons', measure, report };
