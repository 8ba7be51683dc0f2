// Berth benchmarks: `npm run bench` (build, then node dist/bench/run.js).
//
//   1. exec -> 100 long-runs up            4. idle CPU over 30 s, 10 services
//   2. PID-1 memory, 1/10/100 services      5. 10,000 orphans exit -> no zombie
//   3. restart latency after SIGKILL        6. exec -> 100 ready, 50 after 50
//   7. idle CPU with 10 HTTP-probed services
//   8. the log relay: 1 GiB of lines, twenty writers, memory, idle CPU
//   9. exec -> the first service running, beyond a bare node's start
//  10. scheduled jobs: due -> exec, idle CPU and memory with 1,000 jobs
//  11. resource limits: 100 services up, memory and idle CPU, without limits, with cgroups, with the watcher
//  12. configuration: the configuration stage of 100 services' env, secret and rendered files, cold; idle CPU with 100 watches
//  13. PostgreSQL ready: by notification, beside a 1 s pg_isready probe and a pg_isready loop by hand
//  14. shutdown: SIGTERM to PID 1 until it is gone, 10 and 100 services, beside s6
// 1-5 against s6 and tini too, 8 against supervisord, 10 against Debian's
// cron and busybox crond.
//
// One module per benchmark in benchmarks/ (a typed result, and the report
// section and targets made from it); report.ts prints. A new benchmark is a
// new file plus a line in BENCHMARKS.
//
// Every init runs as PID 1 of its own PID namespace
// (unshare --pid --fork --mount-proc --kill-child), in its own temp dir, and
// is killed (with its whole namespace) and removed afterwards. Method and
// results: docs/PERFORMANCE.md; peers and options: bench/README.md.
//
// Peers come from Debian: `apt-get update && apt-get install -y s6 tini`
// (and supervisor for 8, cron busybox-static for 10).
// A peer that is not installed is reported as "not installed".
// Needs root (unshare, a pids cgroup), mkfifo, and cc or perl (the orphan maker).
//
// Options: --quick (5 s CPU window, 3 runs, 1 orphan run), --runs N,
// --cpu-seconds S, --zombies N, --zombie-runs N, --orphans clone|fork,
// --only start,restart,cpu,zombies,ready,probes,logs,first,jobs,limits,config,daemons,shutdown, --peers berth,s6,tini,
// --baseline DIR (Berth built in another checkout, beside this one in 1-4 and 9),
// --job-minutes N (minutes of every-minute jobs in 10; 2, --quick 1).
// BERTH_BENCH_NODE_FLAGS adds node flags to Berth's own
// (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof").
import { performance } from 'node:perf_hooks';
import { config } from './benchmarks/config.js';
import { daemons } from './benchmarks/daemons.js';
import { first } from './benchmarks/first.js';
import { idle } from './benchmarks/idle.js';
import { jobs } from './benchmarks/jobs.js';
import { limits } from './benchmarks/limits.js';
import { logs } from './benchmarks/logs.js';
import { probes } from './benchmarks/probes.js';
import { ready } from './benchmarks/ready.js';
import { restart } from './benchmarks/restart.js';
import { shutdown } from './benchmarks/shutdown.js';
import { start } from './benchmarks/start.js';
import { zombies } from './benchmarks/zombies.js';
import { runnable, type Target, type Versus } from './lib/benchmark.js';
import { removeLiveDirs, warnings } from './lib/instance.js';
import { PEERS } from './lib/peers.js';
import { killAllPid1s } from './lib/pid1.js';
import { parseOptions } from './options.js';
import { out, printHeader, printSection, printSummary } from './report.js';

/** In report order. */
const BENCHMARKS = [runnable(start), runnable(restart), runnable(idle), runnable(zombies), runnable(ready), runnable(probes), runnable(logs), runnable(first), runnable(jobs), runnable(limits), runnable(config), runnable(daemons), runnable(shutdown)];

async function main(): Promise<void> {
  const o = parseOptions(
    process.argv.slice(2),
    BENCHMARKS.map((b) => b.name),
  );
  const started = performance.now();
  await printHeader(o);
  if (PEERS.berth.missing) {
    out(`berth: ${PEERS.berth.missing}`);
    process.exitCode = 1;
    return;
  }
  const targets: Target[] = [];
  const versus: Versus[] = [];
  for (const b of BENCHMARKS) {
    if (!o.only.has(b.name)) continue;
    const section = await b.run(o);
    printSection(section);
    targets.push(...section.targets);
    versus.push(...(section.versus ?? []));
  }
  await printSummary(targets, versus, warnings, started, performance.now());
}

function cleanupAll(): void {
  killAllPid1s();
  removeLiveDirs();
  for (const b of BENCHMARKS) b.cleanup?.();
}

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    process.stderr.write(`\nbench: ${sig}, cleaning up\n`);
    cleanupAll();
    process.exit(130);
  });
}

main().then(
  () => {
    cleanupAll();
  },
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
    cleanupAll();
    process.exitCode = 1;
  },
);
