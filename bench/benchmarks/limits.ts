// 11: per-service resource limits (#26). 100 long-runs as in 1 (each reports
// `up` on the FIFO, then sleeps), five ways side by side in each round:
// without limits, with limits kept by cgroups (memory 64Mi, cpu 0.5, pids
// 100 each: a cgroup per service in each hierarchy), with the same limits
// kept by the watcher (BERTH_CGROUP=off), and each way with the first
// service alone limited: what a limited service costs beyond the first,
// once what comes with the first (the limiter's code, the cgroup root, the
// watcher's pass each second and the young-generation pages its garbage
// touches) is paid. Figures: exec → every
// service up; PID-1 RSS and PSS 5 s after the last is up; PID-1 CPU over
// --cpu-seconds once up (the watcher's pass over /proc each second is the
// only work an idle init then does).
import type { Benchmark, Section, Target } from '../lib/benchmark.js';
import { UP_TIMEOUT_MS, warnings, withInstance, type Services } from '../lib/instance.js';
import { waitQuiet } from '../lib/machine.js';
import { berthLaunch, PEERS, type Peer } from '../lib/peers.js';
import { delay } from '../lib/pid1.js';
import { cpuOf, memoryOf } from '../lib/proc.js';
import { figures, fmt, num, Samples } from '../lib/stats.js';
import type { Options } from '../options.js';
import { label, progress } from '../report.js';

const SERVICES = 100;
// as the jobs bench: past the init's start-up collection, and what a start burst left in the young generation
const SETTLE_MS = 5000;
const LIMITS = { memory: '64Mi', cpu: 0.5, pids: 100 };

const CASES = ['none', 'one', 'cgroups', 'oneWatched', 'watcher'] as const;
type Case = (typeof CASES)[number];
const NAMES: Record<Case, string> = { none: 'no limits', one: 'one limited, cgroups', cgroups: 'limits, cgroups', oneWatched: 'one limited, watcher', watcher: 'limits, watcher' };
/** the case with one service limited the same way */
const ONE: Record<'cgroups' | 'watcher', Case> = { cgroups: 'one', watcher: 'oneWatched' };
const FIGURES = ['up', 'rss', 'pss', 'cpuMs'] as const;

export interface LimitsResult {
  byCase: Record<Case, Record<(typeof FIGURES)[number], Samples>>;
  /** how the init said it keeps the limits (its first `resource limits:` line), per case */
  said: Partial<Record<Case, string>>;
  cpuSeconds: number;
}

/** Berth with every service limited (or not), and BERTH_CGROUP as the case says. */
function peerOf(c: Case): Peer {
  const berth = PEERS.berth;
  return {
    ...berth,
    prepare(dir, services) {
      const manifest = {
        version: 1,
        ...(c === 'cgroups' || c === 'watcher' ? { resources: LIMITS } : {}),
        // 'one', 'oneWatched': the first service alone has limits, so what comes once is there and 99 services are not
        services: Object.fromEntries(services.map((s, i) => [s.name, { execStart: ['/bin/sh', '-c', s.script], ...((c === 'one' || c === 'oneWatched') && i === 0 ? { resources: LIMITS } : {}) }])),
      };
      const launch = berthLaunch(dir, manifest);
      return { ...launch, env: { ...launch.env, ...(c === 'watcher' || c === 'oneWatched' ? { BERTH_CGROUP: 'off' } : {}) } };
    },
  };
}

const longRuns: Services = ({ fifo }) =>
  Array.from({ length: SERVICES }, (_, i) => ({ name: `svc${String(i).padStart(3, '0')}`, script: `echo up $$ > ${fifo}; exec sleep infinity` }));

async function measure(o: Options): Promise<LimitsResult> {
  const r: LimitsResult = { byCase: Object.fromEntries(CASES.map((c) => [c, figures(FIGURES)])) as LimitsResult['byCase'], said: {}, cpuSeconds: o.cpuSeconds };
  if (PEERS.berth.missing) {
    warnings.push(`limits: ${PEERS.berth.missing}`);
    return r;
  }
  for (let run = 0; run < o.runs; run++) {
    progress(`limits: run ${run + 1}/${o.runs}`);
    // the order turns each round, so no case always follows the same one
    for (const c of CASES.map((_, i) => CASES[(i + run) % CASES.length])) {
      const f = r.byCase[c];
      await waitQuiet();
      try {
        await withInstance(peerOf(c), longRuns, async (inst) => {
          const ups = await inst.fifo.waitFor((e) => e.text.startsWith('up '), SERVICES, UP_TIMEOUT_MS);
          const last = Math.max(...ups.slice(0, SERVICES).map((e) => e.t));
          f.up.add(last - inst.init.t0);
          await delay(Math.max(0, last + SETTLE_MS - performance.now()));
          const m = memoryOf(inst.pid);
          f.rss.add(m?.rssKb);
          f.pss.add(m?.pssKb);
          // a whole number of the watcher's 1-s passes in the window
          const before = cpuOf([inst.pid]);
          await delay(o.cpuSeconds * 1000);
          f.cpuMs.add((cpuOf([inst.pid]).ns - before.ns) / 1e6);
          r.said[c] ??= /resource limits: .*/.exec(inst.init.output())?.[0].slice(0, 160);
        });
      } catch (err) {
        warnings.push(`limits ${c} run ${run + 1}: ${(err as Error).message}`);
      }
    }
  }
  return r;
}

/** (limited − `base`) / the services limited beyond it, per round, in kB: none (every service) or a one-limited case (what a service costs beyond the first). */
function perService(r: LimitsResult, c: Case, k: 'rss' | 'pss', base: Case = 'none'): Samples {
  const out = new Samples();
  const a = r.byCase[c][k].values;
  const b = r.byCase[base][k].values;
  for (let i = 0; i < Math.min(a.length, b.length); i++) out.add((a[i] - b[i]) / (base === 'none' ? SERVICES : SERVICES - 1));
  return out;
}

/** limited / none, per round. */
function ratio(r: LimitsResult, c: Case): Samples {
  const out = new Samples();
  const a = r.byCase[c].up.values;
  const b = r.byCase.none.up.values;
  for (let i = 0; i < Math.min(a.length, b.length); i++) out.add(a[i] / b[i]);
  return out;
}

function report(r: LimitsResult): Section {
  const lines = [
    `11. resource limits: ${SERVICES} long-runs, each with memory ${LIMITS.memory}, cpu ${LIMITS.cpu}, pids ${LIMITS.pids} (or none), the three cases side by side in each round`,
  ];
  for (const c of CASES) {
    const f = r.byCase[c];
    lines.push(`   ${label(NAMES[c])}up ${fmt(f.up.summary, 'ms')}; RSS ${fmt(f.rss.summary, 'kB', 0)}; PSS ${fmt(f.pss.summary, 'kB', 0)}; CPU over ${r.cpuSeconds} s ${fmt(f.cpuMs.summary, 'ms')}`);
    if (r.said[c]) lines.push(`   ${label('')}${r.said[c]}`);
  }
  const targets: Target[] = [];
  for (const c of ['cgroups', 'watcher'] as const) {
    const up = ratio(r, c).summary;
    const rss = perService(r, c, 'rss').summary;
    const beyond = perService(r, c, 'rss', ONE[c]).summary;
    targets.push({
      what: `100 services up, ${NAMES[c]}`,
      target: '< 1.3x without limits (#26)',
      berth: up ? `${num(up.median, 2)}x (${num(up.min, 2)}-${num(up.max, 2)})` : 'no data',
      pass: up ? up.median < 1.3 : undefined,
      peers: `without: ${fmt(r.byCase.none.up.summary, 'ms')}`,
    });
    targets.push({
      what: `PID-1 RSS per service, ${NAMES[c]}`,
      target: '< 10 kB more than without (#26)',
      berth: rss ? `${num(rss.median)} kB (PSS ${num(perService(r, c, 'pss').summary?.median ?? NaN)} kB)${beyond ? `; beyond the first: ${num(beyond.median)} kB` : ''}` : 'no data',
      // a limited service beyond the first: what the first brings comes once
      pass: beyond ? beyond.median < 10 : undefined,
      peers: `judged: (100 limited − 1 limited) / 99`,
    });
  }
  const watcherCpu = r.byCase.watcher.cpuMs.summary;
  targets.push({
    what: `the watcher's CPU, ${SERVICES} services`,
    target: '< 5 ms per second (#26)',
    berth: watcherCpu ? `${num(watcherCpu.median / r.cpuSeconds, 2)} ms/s` : 'no data',
    pass: watcherCpu ? watcherCpu.median / r.cpuSeconds < 5 : undefined,
    peers: `no limits: ${fmt(r.byCase.none.cpuMs.summary, 'ms')} over ${r.cpuSeconds} s; cgroups: ${fmt(r.byCase.cgroups.cpuMs.summary, 'ms')}`,
  });
  return { lines, targets };
}

export const limits: Benchmark<LimitsResult> = { name: 'limits', measure, report };
