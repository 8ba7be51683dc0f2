// 8: exec -> the first service running, and what Berth adds before its first
// spawn to Node's own start. One service, every process PID 1 of its own
// namespace, the four runs of a round back to back and each figure paired
// with the bare node of its own round:
//   node    `node FLAGS -e 0`, exec -> exit: Node's boot with Berth's flags
//   /init   what /init execs (runtime/init's NODE line: its flags and
//           dist/src/cli/init-start.cjs), exec -> the service's line on the FIFO
//   main.js `berth init` (main.js with its shebang's flags), the same way
//   sh      the service alone as PID 1, exec -> its line: the child's own exec
//   baseline with --baseline, /init's way from that checkout, beside /init
// The figure is /init minus node, the child's exec included.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { Benchmark, Section, Target } from '../lib/benchmark.js';
import { EventFifo } from '../lib/fifo.js';
import { warnings } from '../lib/instance.js';
import { waitQuiet } from '../lib/machine.js';
import { baseEnv, BERTH_MAIN, BERTH_NODE_FLAGS, initCommand } from '../lib/peers.js';
import { Pid1 } from '../lib/pid1.js';
import { fmt, num, rotated, Samples, summarise } from '../lib/stats.js';
import type { Options } from '../options.js';
import { busyLine, label, progress, ratioText, versus } from '../report.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const TIMEOUT_MS = 10_000;

const KINDS = ['node', 'init', 'baseline', 'main', 'sh'] as const;
type Kind = (typeof KINDS)[number];

/** The kinds of run `run`, in order: with a baseline, it and /init take turns to go first. */
function kindsOf(run: number, baseline: boolean): Kind[] {
  const pair = baseline ? rotated(['init', 'baseline'] as const, run) : ['init' as const];
  return KINDS.flatMap((k): Kind[] => (k === 'init' ? pair : k === 'baseline' ? [] : [k]));
}

export interface FirstResult {
  busy: Samples;
  /** ms from exec, per run */
  times: Record<Kind, Samples>;
  initEntry: string;
  baselineEntry: string;
}

function env(): NodeJS.ProcessEnv {
  const e = baseEnv();
  for (const k of ['BERTH_STATE_DIR', 'BERTH_HTTP']) delete e[k];
  return e;
}

/** One run of one kind, in a temp dir of its own; ms from exec to exit (node) or to the service's line. `init`: /init's command for init and baseline. */
async function once(kind: Kind, init: string[]): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), `berth-bench-first-${kind}-`));
  const fifo = new EventFifo(join(dir, 'events'));
  const script = `echo up $$ > ${fifo.path}; exec sleep infinity`;
  const extra = (process.env.BERTH_BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  let argv: string[];
  if (kind === 'node') argv = [process.execPath, ...BERTH_NODE_FLAGS, '-e', '0'];
  else if (kind === 'sh') argv = ['/bin/sh', '-c', script];
  else {
    const manifest = join(dir, 'manifest.json');
    writeFileSync(manifest, JSON.stringify({ version: 1, services: { first: { execStart: ['/bin/sh', '-c', script] } } }));
    const [node, ...rest] = kind === 'main' ? [process.execPath, ...BERTH_NODE_FLAGS, BERTH_MAIN] : init;
    argv = [node, ...extra, ...rest, 'init', join(dir, 'state'), '--manifest', manifest];
  }
  const p = new Pid1(argv, env(), dir);
  try {
    if (kind === 'node') {
      const code = await p.exited;
      if (code !== 0) throw new Error(`node -e 0 exited with ${code}: ${p.output()}`);
      return performance.now() - p.t0;
    }
    const [up] = await fifo.waitFor((e) => e.text.startsWith('up '), 1, TIMEOUT_MS);
    return up.t - p.t0;
  } finally {
    await p.stop('SIGKILL');
    fifo.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function measure(o: Options): Promise<FirstResult> {
  const runs = Math.max(10, o.runs * 4);
  const init = initCommand();
  const baseline = o.baseline ? initCommand(o.baseline.root) : [];
  const times = Object.fromEntries(KINDS.map((k) => [k, new Samples()])) as Record<Kind, Samples>;
  const r: FirstResult = { busy: new Samples(), times, initEntry: init.slice(1).join(' ').replace(ROOT, ''), baselineEntry: baseline.slice(1).join(' ') };
  for (let run = 0; run < runs; run++) {
    progress(`first spawn: run ${run + 1}/${runs}`);
    for (const kind of kindsOf(run, o.baseline !== undefined)) {
      r.busy.add(await waitQuiet());
      try {
        r.times[kind].add(await once(kind, kind === 'baseline' ? baseline : init));
      } catch (err) {
        r.times[kind].add(NaN);
        warnings.push(`first ${kind} run ${run + 1}: ${(err as Error).message}`);
      }
    }
  }
  return r;
}

/** a - b per run, summarised */
function minus(a: Samples, b: Samples): ReturnType<typeof summarise> {
  return summarise(a.values.map((x, i) => x - b.values[i]));
}

/** a's fastest run minus b's: less moved by other work on the machine than a median */
function fastest(a: Samples, b: Samples): string {
  const x = a.summary;
  const y = b.summary;
  return x && y ? `${num(x.min - y.min, 1)} ms` : 'no data';
}

function report(r: FirstResult, o: Options): Section {
  const t = r.times;
  const added = minus(t.init, t.node);
  const lines = [
    "8. exec -> the first service running: one service, as PID 1 (service: sh -c 'echo up $$ > FIFO; exec sleep infinity'; FIFO line arrival)",
    busyLine(r.busy),
    `   ${label('node -e 0')}${fmt(t.node.summary, 'ms')}   (node ${BERTH_NODE_FLAGS.join(' ')} -e 0, exec -> exit)`,
    `   ${label('berth, as /init runs')}${fmt(t.init.summary, 'ms')}   (node ${r.initEntry})`,
    `   ${label('')}minus node -e 0, per run: ${fmt(added, 'ms')}; fastest minus fastest: ${fastest(t.init, t.node)}`,
    ...(o.baseline
      ? [
          `   ${label('baseline, as /init')}${fmt(t.baseline.summary, 'ms')}   (node ${r.baselineEntry})`,
          `   ${label('')}minus node -e 0, per run: ${fmt(minus(t.baseline, t.node), 'ms')}; berth minus baseline, per run: ${fmt(minus(t.init, t.baseline), 'ms')}`,
          `   ${label('')}${ratioText(t.init.ratioTo(t.baseline), 'berth/baseline')}`,
        ]
      : []),
    `   ${label('berth init (main.js)')}${fmt(t.main.summary, 'ms')}`,
    `   ${label('')}minus node -e 0, per run: ${fmt(minus(t.main, t.node), 'ms')}`,
    `   ${label('the service alone')}${fmt(t.sh.summary, 'ms')}   (/bin/sh as PID 1: the child's own exec, in both figures above)`,
  ];
  const targets: Target[] = [
    {
      what: 'first spawn: berth beyond node -e 0',
      target: '< 10 ms',
      berth: added ? `${num(added.median, 1)} ms` : 'no data',
      pass: added ? added.median < 10 : undefined,
      peers: `node -e 0 ${t.node.summary ? num(t.node.summary.median, 0) : '?'} ms; the service alone ${t.sh.summary ? num(t.sh.summary.median, 1) : '?'} ms`,
    },
  ];
  const vs = o.baseline && [versus('exec -> first service, as /init', t.init, t.baseline, 'ms')];
  return { lines, targets, versus: vs || undefined };
}

export const first: Benchmark<FirstResult> = { name: 'first', measure, report };
