// `npm run soak -- --minutes N [--seed S] [--no-pid1] [--no-reload-race]`:
// a real `berth init` with a mix of services (idle, chatty, crash-looping,
// slow to stop, readiness-probed, oneshots) while a seeded driver acts on it
// at random; the invariants are checked the whole time (monitor.ts,
// lines.ts, followers.ts, driver.ts) and at the end (shutdown.ts). Exit 0
// when all held, 1 at the first broken one (printed with the seed), 2 on a
// usage error.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Driver } from './driver.js';
import { Followers } from './followers.js';
import { launchInit, type Init } from './launch.js';
import { RelayChecker } from './lines.js';
import { BASE_WRITERS, manifestOf, SLOWSTOP_TIMEOUT_MS, writeManifest, type Model } from './manifest.js';
import { mib, Monitor } from './monitor.js';
import { OptionsError, parseOptions, usage, type SoakOptions } from './options.js';
import { ProcView } from './procview.js';
import { writePrograms } from './programs.js';
import { Random } from './random.js';
import { failureReport, replayLine, summary, type Seen } from './report.js';
import { endInit, kill } from './shutdown.js';
import { clock, sleep, Soak } from './soak.js';

/** S6_KILL_GRACETIME the init runs with. */
const GRACE_MS = 3000;
/** After SIGTERM: every service's stop (slowstop's timeout the longest), the loggers' window, the sweep of what is left, and room for a busy machine. */
const EXIT_LIMIT_MS = GRACE_MS + SLOWSTOP_TIMEOUT_MS + 5000 + GRACE_MS + 15_000;
const STAGES_TIMEOUT_MS = 60_000;

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
  let stagesDone: () => void = () => undefined;
  const stages = new Promise<void>((resolve) => (stagesDone = resolve));
  const initLines: string[] = [];
  const relay = new RelayChecker(
    soak,
    (name) => driver?.writers.has(name) ?? BASE_WRITERS.includes(name),
    (service) => driver?.stops(service) ?? [],
    (line) => {
      initLines.push(`${clock(soak.elapsed())} ${line}`);
      if (initLines.length > 100) initLines.shift();
      if (/; restarting in [\d.]+ m?s \(restart #\d+\)$/.test(line)) restartsSeen++;
      else if (line === 'all stages done') stagesDone();
    },
    opts.allowStallSplits,
  );
  const seen: Seen = { opts, soak, dir, relay, initLines };
  soak.whenFailed(() => process.stdout.write(failureReport(seen)));
  let init: Init | undefined;
  let terminating = false;
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
  seen.init = init;
  void init.exited.then((e) => {
    if (!terminating) soak.fail('the init never exits on its own', `it exited (code ${e.code}, signal ${e.signal}) while the soak ran`);
  });
  const started = await Promise.race([stages.then(() => true), init.exited.then(() => false), sleep(STAGES_TIMEOUT_MS).then(() => false)]);
  if (started) say(`init pid ${init.pid} on the host; all stages done; HTTP on 127.0.0.1:${httpPort}; state dir ${stateDir}`);
  else soak.fail('the init starts', `no "all stages done" within ${STAGES_TIMEOUT_MS / 1000} s`);

  const view = new ProcView(init.pid);
  const warmupMs = Math.min(60_000, Math.max(10_000, opts.durationMs / 10));
  const monitor = new Monitor(soak, view, stateDir, soak.elapsed() + warmupMs);
  const followers = new Followers(soak, relay, stateDir);
  driver = new Driver(soak, new Random(opts.seed), { stateDir, manifestPath, programs, ports, httpPort, initPid: init.pid, model, monitor, followers }, opts.raceReload);
  const driveStart = soak.elapsed();
  if (!soak.failed) {
    monitor.start();
    // the warm-up sees a flood and a follower, so the baseline holds what they cost
    driver.floodNow();
    followers.cli('chatty', 3000);
    const heartbeat = setInterval(() => {
      const acted = [...soak.actions.values()].reduce((a, b) => a + b, 0);
      say(`${acted} actions, ${relay.counts.lines} lines relayed, fds ${view.fdCount() ?? '-'} (max ${monitor.maxFds}), RSS ${mib(view.rssKb() ?? 0)} (max ${mib(monitor.maxRssKb)}), zombie max age ${monitor.maxZombieAgeMs} ms, ${restartsSeen} restarts`);
    }, Math.min(60_000, Math.max(15_000, opts.durationMs / 10)));
    await driver.run(driveStart + opts.durationMs);
    clearInterval(heartbeat);
  }
  const drivenMs = soak.elapsed() - driveStart;
  say(soak.failed ? 'stopping after the failure' : 'driving done; letting held processes go, ending followers and commands under way');
  await driver.drain();
  await monitor.stop();

  const ns = opts.pid1 ? view.pidNamespace() : undefined;
  terminating = true;
  const ending = await endInit(soak, init, monitor, ns, EXIT_LIMIT_MS);
  relay.end();
  clearTimeout(overrun);
  process.stdout.write(summary({ ...seen, monitor, followers, drivenMs, restartsSeen, ending, limitMs: EXIT_LIMIT_MS }));
  if (!soak.failed) rmSync(dir, { recursive: true, force: true });
  return soak.failed ? 1 : 0;
}

process.exit(await main());
