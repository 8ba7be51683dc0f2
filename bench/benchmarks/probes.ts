// 7: what health probes cost PID 1 between and at their intervals. Three
// Berth instances with 10 services each probed over HTTP (readiness, then
// liveness every second) run beside three whose probes come every 5 s and
// three with the same 10 services and no probes; PID 1's CPU is read every
// second over the window as in the idle benchmark, so the 5 s instances show
// whether anything runs between probes (then only ~1 second in 5 is busy). All
// probes go to one tiny HTTP server the bench starts outside every init, so
// answering them costs no init anything and the difference is the probing
// alone. The server counts what it answered, which shows the probes ran.
import { spawn, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import type { Benchmark, Target } from '../lib/benchmark.js';
import { startInstance, stopInstance, UP_TIMEOUT_MS, warnings, type Instance, type Services } from '../lib/instance.js';
import { delay } from '../lib/pid1.js';
import { cpuOf, type CpuSnap } from '../lib/proc.js';
import { figures, fmt, num, Samples } from '../lib/stats.js';
import { peerUsable, type Options } from '../options.js';
import { label, progress } from '../report.js';

const INSTANCES = 3;
const SERVICES = 10;
/** the probed groups' probe intervals, in s */
const INTERVALS = [1, 5] as const;

const PROBE_FIGURES = ['ticks', 'ms', 'activeSeconds'] as const;
/** Per instance: PID 1's CPU over the window in ticks of 10 ms and ms (schedstat); seconds with > 0.1 ms CPU. */
type ProbeFigures = Record<(typeof PROBE_FIGURES)[number], Samples>;

export interface ProbesResult {
  seconds: Samples;
  /** probes every second */
  probed: ProbeFigures;
  /** probes every 5 s */
  sparse: ProbeFigures;
  plain: ProbeFigures;
  /** requests the server answered during the window, all instances together */
  answered: Samples;
}

/** The server every probe asks: answers 200 to anything, and the count so far at /count. */
const SERVER = `let n=0;const s=require('http').createServer((q,r)=>{if(q.url==='/count')return r.end(String(n));n++;r.end('ok')});
s.listen(0,'127.0.0.1',()=>console.log(s.address().port))`;

let server: ChildProcess | undefined;

function startServer(): Promise<number> {
  const child = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  server = child;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the probe server did not start within 10 s')), 10_000);
    child.stdout!.once('data', (chunk: Buffer) => {
      clearTimeout(timer);
      resolve(Number(String(chunk).trim()));
    });
    child.once('exit', () => reject(new Error('the probe server exited')));
  });
}

function stopServer(): void {
  server?.kill('SIGKILL');
  server = undefined;
}

async function answered(port: number): Promise<number> {
  return Number(await (await fetch(`http://127.0.0.1:${port}/count`)).text());
}

/** 10 sleeping services, each with an HTTP readiness and liveness probe every `interval` s when `port` is given. */
function services(port?: number, interval = 1): Services {
  return ({ fifo }) =>
    Array.from({ length: SERVICES }, (_, i) => ({
      name: `svc${String(i).padStart(3, '0')}`,
      script: `echo up $$ > ${fifo}; exec sleep infinity`,
      ...(port === undefined
        ? {}
        : {
            readiness: { http: { port, path: '/ready' }, interval: `${interval}s`, timeout: '1s' },
            liveness: { http: { port, path: '/live' }, interval: `${interval}s`, timeout: '1s' },
          }),
    }));
}

async function measure(o: Options): Promise<ProbesResult> {
  const r: ProbesResult = {
    seconds: new Samples(),
    probed: figures(PROBE_FIGURES),
    sparse: figures(PROBE_FIGURES),
    plain: figures(PROBE_FIGURES),
    answered: new Samples(),
  };
  const peer = peerUsable(o, 'berth');
  if (!peer) return r;
  progress(`probes: ${INSTANCES} instances each with 10 services probed every 1 s, every 5 s and not at all, ${o.cpuSeconds} s window`);
  const instances: Array<{ inst: Instance; f: ProbeFigures }> = [];
  try {
    const port = await startServer();
    for (let i = 0; i < INSTANCES; i++) {
      for (const interval of [...INTERVALS, undefined]) {
        const inst = await startInstance(peer, services(interval && port, interval));
        instances.push({ inst, f: interval === undefined ? r.plain : interval === 1 ? r.probed : r.sparse });
        await inst.fifo.waitFor((e) => e.text.startsWith('up '), SERVICES, UP_TIMEOUT_MS);
        if (interval) await inst.init.waitForLines((text) => /^\[berth\] \S+: ready$/.test(text), SERVICES, UP_TIMEOUT_MS);
      }
    }
    await delay(2000); // start-up work (lazy compilation, first GC) is not idle
    const snap = (): CpuSnap[] => instances.map(({ inst }) => cpuOf([inst.pid]));
    const countBefore = await answered(port);
    const t0 = performance.now();
    const perSecond: CpuSnap[][] = [snap()];
    for (let sec = 1; sec <= o.cpuSeconds; sec++) {
      await delay(Math.max(0, t0 + sec * 1000 - performance.now()));
      perSecond.push(snap());
    }
    r.seconds.add((performance.now() - t0) / 1000);
    r.answered.add((await answered(port)) - countBefore - 1);
    const [before, after] = [perSecond[0], perSecond[perSecond.length - 1]];
    instances.forEach(({ f }, i) => {
      f.ticks.add(after[i].ticks - before[i].ticks);
      f.ms.add((after[i].ns - before[i].ns) / 1e6);
      f.activeSeconds.add(perSecond.slice(1).filter((p, sec) => p[i].ns - perSecond[sec][i].ns > 100_000).length);
    });
  } catch (err) {
    warnings.push(`probes: ${(err as Error).message}`);
  } finally {
    await Promise.all(instances.map(({ inst }) => stopInstance(inst)));
    stopServer();
  }
  return r;
}

function report(r: ProbesResult, o: Options): { lines: string[]; targets: Target[] } {
  const secs = r.seconds.summary?.median ?? o.cpuSeconds;
  const probes = INSTANCES * SERVICES * secs * INTERVALS.reduce((sum, i) => sum + 1 / i, 0);
  const got = r.answered.summary?.median;
  const ms = r.probed.ms.summary;
  const sparseMs = r.sparse.ms.summary;
  const perProbe = ms && sparseMs && got ? ((ms.median + sparseMs.median) * INSTANCES) / got : undefined;
  const row = (name: string, f: ProbeFigures): string =>
    `   ${label(name)}${fmt(f.ticks.summary, 'ticks', 0)}; ${fmt(f.ms.summary, 'ms CPU')}; seconds with > 0.1 ms CPU: ${fmt(f.activeSeconds.summary, '', 0)}`;
  const lines = [
    `7. idle CPU of PID 1 over ${num(secs, 1)} s, 10 services each with an HTTP readiness and liveness probe`,
    `   (${INSTANCES} instances of each kind side by side; one HTTP server outside every init answers all probes)`,
    row('berth, every 1 s', r.probed),
    row('berth, every 5 s', r.sparse),
    row('berth, no probes', r.plain),
    `   ${label('')}probes answered in the window: ${got ?? 'no data'} of ~${num(probes, 0)} expected; ~${perProbe ? num(perProbe, 3) : '?'} ms of PID-1 CPU per probe`,
  ];
  const ticks = r.probed.ticks.summary;
  const plainMs = r.plain.ms.summary;
  const targets: Target[] = [
    {
      what: `idle CPU, 10 HTTP-probed services`,
      target: 'reported (issue #9)',
      berth: ticks && ms ? `${num(ticks.median, 0)} ticks, ${num(ms.median, 1)} ms / ${num(secs, 0)} s` : 'no data',
      pass: undefined,
      peers: `every 5 s: ${sparseMs ? `${num(sparseMs.median, 1)} ms` : 'no data'}; no probes: ${plainMs ? `${num(plainMs.median, 2)} ms` : 'no data'}`,
    },
  ];
  return { lines, targets };
}

export const probes: Benchmark<ProbesResult> = { name: 'probes', measure, report, cleanup: stopServer };
