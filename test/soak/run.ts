// `npm run soak -- --minutes N [--seed S] [--no-pid1]`: a real `berth init`
// with a mix of services (idle, chatty, crash-looping, slow to stop,
// readiness-probed, oneshots) while a seeded driver acts on it at random;
// the invariants are checked the whole time (monitor.ts, lines.ts,
// followers.ts, driver.ts) and at the end: SIGTERM, exit 0 in time, nothing
// left. Exit 0 when all held, 1 at the first broken one (printed with the
// seed), 2 on a usage error.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Driver } from './driver.js';
import { Followers } from './followers.js';
import { launchInit, type Init } from './launch.js';
import { RelayChecker } from './lines.js';
import { BASE_WRITERS, manifestOf, SLOWSTOP_TIMEOUT_MS, writeManifest, type Model } from './manifest.js';
import { mib, Monitor, FD_SLACK, RSS_FACTOR, RSS_SLACK_KB } from './monitor.js';
import { OptionsError, parseOptions, usage, type SoakOptions } from './options.js';
import { identity, processesInNamespace, ProcView, stillRuns } from './procview.js';
import { writePrograms } from './programs.js';
import { Random } from './random.js';
import { clock, sleep, Soak } from './soak.js';

/** S6_KILL_GRACETIME the init runs with. */
const GRACE_MS = 3000;
/** After SIGTERM: every service's stop (slowstop's timeout the longest), the loggers' window, the sweep of what is left, and room for a busy machine. */
const EXIT_LIMIT_MS = GRACE_MS + SLOWSTOP_TIMEOUT_MS + 5000 + GRACE_MS + 15_000;
const STAGES_TIMEOUT_MS = 60_000;

function replayLine(opts: SoakOptions): string {
  return `npm run soak -- --seconds ${opts.durationMs / 1000} --seed ${opts.seed}${opts.pid1 ? '' : ' --no-pid1'}${opts.raceReload ? '' : ' --no-reload-race'}`;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function main(): Promise<number> {
  let opts: SoakOptions;
  try {
    opts = parseOptions(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof OptionsError)) throw err;
    process.stderr.write(`soak: ${err.message}\n${usage}\n`);
    return 2;
  }
  if (opts.pid1 && process.getuid?.() !== 0) {
    process.stderr.write('soak: running the init as PID 1 of a new PID namespace needs root (unshare --pid); run as root or pass --no-pid1\n');
    return 2;
  }
  const soak = new Soak(opts.seed);
  const rng = new Random(opts.seed);
  const say = (line: string): void => void process.stdout.write(`[soak ${clock(soak.elapsed())}] ${line}\n`);
  say(`seed ${opts.seed}, driving for ${(opts.durationMs / 60_000).toFixed(2)} min, the init ${opts.pid1 ? 'as PID 1 of a new PID namespace' : 'as a plain process'}; replay: ${replayLine(opts)}`);

  const dir = mkdtempSync(join(tmpdir(), 'berth-soak-'));
  const stateDir = join(dir, 'state');
  const manifestPath = join(dir, 'manifest.json');
  const programs = writePrograms(dir);
  const ports = { web: await freePort(), db: await freePort() };
  const httpPort = await freePort();
  const model: Model = { extras: [], generation: {} };
  writeManifest(manifestPath, manifestOf(model, programs, ports));

  let driver: Driver | undefined;
  let restartsSeen = 0;
  /** the init's own last lines, with the time the harness read them */
  const initLines: string[] = [];
  let stagesDone: () => void = () => undefined;
  const stages = new Promise<void>((resolve) => (stagesDone = resolve));
  const relay = new RelayChecker(
    soak,
    (name) => driver?.writers.has(name) ?? BASE_WRITERS.includes(name),
    (service) => driver?.stops(service) ?? [],
    (line) => {
      initLines.push(`${clock(soak.elapsed())} ${line}`);
      if (initLines.length > 100) initLines.shift();
      if (/: .*; restarting in \d+ ms \(restart #\d+\)$/.test(line)) restartsSeen++;
      else if (line === 'all stages done') stagesDone();
    },
  );
  let init: Init | undefined;
  let terminating = false;
  soak.whenFailed(() => {
    const f = soak.failure!;
    process.stdout.write(
      [
        `\nSOAK FAILED at ${clock(f.at)}: ${f.invariant}`,
        `  ${f.detail}`,
        `  seed ${opts.seed}; replay: ${replayLine(opts)}`,
        `  kept for a look: ${dir} (manifest.json, the programs, the state dir)`,
        `  the driver's last actions (a command is listed when it answered):`,
        ...soak.history.map((l) => `    ${l}`),
        `  the init's own last lines ([berth] …):`,
        ...initLines.slice(-40).map((l) => `    ${l}`),
        `  the last lines on its stdout:`,
        ...relay.recent.slice(-10).map((l) => `    ${l.slice(0, 200)}`),
        ...(init?.stderr.length ? ['  its stderr:', ...init.stderr.slice(-10).map((l) => `    ${l}`)] : []),
        '',
      ].join('\n'),
    );
  });
  process.once('SIGINT', () => {
    soak.fail('interrupted', 'SIGINT: stopping the run');
    process.once('SIGINT', () => {
      if (init) kill(init.pid, 'SIGKILL');
      process.exit(130);
    });
  });
  const overrun = setTimeout(() => {
    process.stdout.write(`soak: still running ${clock(soak.elapsed())} after the start; killing the init and giving up\n`);
    if (init) kill(init.pid, 'SIGKILL');
    process.exit(1);
  }, opts.durationMs + 5 * 60_000);

  init = await launchInit({
    dir,
    stateDir,
    manifest: manifestPath,
    pid1: opts.pid1,
    env: { BERTH_HTTP: `127.0.0.1:${httpPort}`, S6_KILL_GRACETIME: String(GRACE_MS) },
    onStdout: (chunk) => relay.push(chunk),
  });
  void init.exited.then((e) => {
    if (!terminating) soak.fail('the init never exits on its own', `it exited (code ${e.code}, signal ${e.signal}) while the soak ran`);
  });
  const started = await Promise.race([stages.then(() => true), init.exited.then(() => false), sleep(STAGES_TIMEOUT_MS).then(() => false)]);
  if (!started) soak.fail('the init starts', `no "all stages done" within ${STAGES_TIMEOUT_MS / 1000} s`);
  say(`init pid ${init.pid} on the host; all stages done; HTTP on 127.0.0.1:${httpPort}; state dir ${stateDir}`);

  const view = new ProcView(init.pid);
  const warmupMs = Math.min(60_000, Math.max(10_000, opts.durationMs / 10));
  const monitor = new Monitor(soak, view, stateDir, soak.elapsed() + warmupMs);
  const followers = new Followers(soak, relay, stateDir);
  driver = new Driver(soak, rng, { stateDir, manifestPath, programs, ports, httpPort, initPid: init.pid, model, monitor, followers }, opts.raceReload);
  const driveStart = soak.elapsed();
  if (!soak.failed) {
    monitor.start();
    // the warm-up sees a flood and a follower, so the baseline holds what they cost
    driver.floodNow();
    followers.cli('chatty', 3000);
    const every = Math.min(60_000, Math.max(15_000, opts.durationMs / 10));
    const heartbeat = setInterval(() => {
      const acted = [...soak.actions.values()].reduce((a, b) => a + b, 0);
      say(`${acted} actions, ${relay.counts.lines} lines relayed, fds ${view.fdCount() ?? '-'} (max ${monitor.maxFds}), RSS ${mib(view.rssKb() ?? 0)} (max ${mib(monitor.maxRssKb)}), zombie max age ${monitor.maxZombieAgeMs} ms, ${restartsSeen} restarts`);
    }, every);
    await driver.run(driveStart + opts.durationMs);
    clearInterval(heartbeat);
  }
  const drivenMs = soak.elapsed() - driveStart;
  say(soak.failed ? 'stopping after the failure' : 'driving done; letting held processes go, ending followers and commands under way');
  await driver.drain();
  await monitor.stop();

  // the end: SIGTERM, exit 0 in time, nothing left
  const ns = opts.pid1 ? view.pidNamespace() : undefined;
  const seen = new Set<string>();
  const remember = (): void => {
    monitor.scan();
    for (const p of monitor.processes) seen.add(identity(p));
  };
  remember();
  terminating = true;
  const t0 = Date.now();
  kill(init.pid, 'SIGTERM');
  let exitMs: number | undefined;
  while (Date.now() - t0 < EXIT_LIMIT_MS) {
    if (init.exit) {
      exitMs = Date.now() - t0;
      break;
    }
    remember();
    await sleep(100);
  }
  if (exitMs === undefined) {
    soak.fail(`the init exits within ${EXIT_LIMIT_MS / 1000} s of SIGTERM`, `still running ${EXIT_LIMIT_MS / 1000} s after SIGTERM; ${monitor.processes.length} processes left under it: ${monitor.processes.map((p) => `${p.comm} (${p.nspid}, ${p.state})`).join(', ')}`);
    kill(init.pid, 'SIGKILL');
  }
  const exit = await init.exited;
  if (exitMs !== undefined && exit.code !== 0) soak.fail('the init exits 0 on SIGTERM', `it exited with code ${exit.code}, signal ${exit.signal}`);
  relay.end();
  const leftovers = async (): Promise<string[]> => {
    let left: string[] = [];
    for (let i = 0; i < 30; i++) {
      left = [...seen].filter(stillRuns);
      if (ns) left.push(...processesInNamespace(ns).map((pid) => `${pid} (in the init's namespace)`));
      if (!left.length) break;
      await sleep(100);
    }
    return left;
  };
  const left = await leftovers();
  if (left.length) {
    soak.fail('nothing left running after the init exits', `${left.length} processes still run 3 s after it exited: ${left.slice(0, 20).join(', ')}`);
    for (const id of left) kill(Number(id.split(/[@ ]/)[0]), 'SIGKILL');
  }
  clearTimeout(overrun);

  // the summary
  const total = [...soak.actions.values()].reduce((a, b) => a + b, 0);
  const c = relay.counts;
  const lines = [
    `\nsoak: ${soak.failed ? 'FAILED' : 'PASSED'}, seed ${opts.seed}, the init ${opts.pid1 ? 'as PID 1' : 'as a plain process'}: ${clock(soak.elapsed()).slice(1)} in all, ${clock(drivenMs).slice(1)} driven`,
    `  actions: ${total}`,
    ...[...soak.actions].sort((a, b) => b[1] - a[1]).map(([k, n]) => `    ${String(n).padStart(6)}  ${k}`),
    `  lines relayed: ${c.lines} (${mib(c.bytes / 1024)}): ${c.writerLines} writer lines checked whole, ${c.splitByStall} of them in pieces after a SIGSTOP we sent, ${relay.cutRuns()} runs ending in a line cut by the writer's death; ${c.initLines} of the init's own, ${c.otherLines} other service lines`,
    `  logs followers: ${followers.lines} lines checked`,
    `  berth status --json checks: ${monitor.statusChecks}`,
    `  command round trips: ${[...soak.timings].map(([k, t]) => `${k} ${t.n}× mean ${Math.round(t.totalMs / t.n)} ms, max ${t.maxMs} ms`).join('; ')}`,
    `  PID 1 fds: max ${monitor.maxFds} (warm-up max ${monitor.baseFds}; bound ${monitor.fdBound} = warm-up max + ${FD_SLACK})`,
    `  PID 1 RSS: max ${mib(monitor.maxRssKb)} (warm-up max ${mib(monitor.baseRssKb)}; bound ${mib(monitor.rssBoundKb)} = warm-up max × ${RSS_FACTOR} + ${RSS_SLACK_KB / 1024} MiB)`,
    `  zombies: ${monitor.zombiesSeen} seen, max age ${monitor.maxZombieAgeMs} ms${monitor.oldestZombie ? ` (${monitor.oldestZombie})` : ''}; bound 1000 ms`,
    `  restarts seen: ${restartsSeen} in the init's log; counters at the last status: ${monitor.lastStatus.filter((r) => r.restarts).map((r) => `${r.name} ${r.restarts}`).join(', ') || 'none'}`,
    `  shutdown: ${exitMs === undefined ? 'no exit in time' : `SIGTERM to exit ${exit.code} in ${(exitMs / 1000).toFixed(1)} s (limit ${EXIT_LIMIT_MS / 1000} s)`}, ${left.length ? `${left.length} processes left` : 'nothing left'}`,
    ...(soak.notes.size ? ['  notes:', ...[...soak.notes].map(([k, n]) => `    ${String(n).padStart(6)}  ${k}`)] : []),
  ];
  if (soak.failure) lines.push(`  FAILED at ${clock(soak.failure.at)}: ${soak.failure.invariant}: ${soak.failure.detail}`, `  replay: ${replayLine(opts)}`, `  kept: ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
  process.stdout.write(`${lines.join('\n')}\n`);
  return soak.failed ? 1 : 0;
}

function kill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // gone
  }
}

process.exit(await main());
