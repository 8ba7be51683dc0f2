// 8: the log relay (issue #8).
//   throughput: one service writes 1 GiB of 100-byte lines, 1 MB per write,
//     the init's stdout on /dev/null: Berth in plain, prefix and passthrough,
//     supervisord's relay (stdout_logfile=/dev/stdout) and the producer alone;
//     then the relay's stdout a pipe drained by `cat` (what a container engine
//     reads): Berth in plain, prefix and json, and supervisord. All take turns
//     within each run, in an order rotated from run to run, so each ratio compares neighbours. The
//     producer times itself, from its first write to the last one its pipe
//     took, so every relay is measured the same way.
//   twenty services writing at once, prefix, stdout to a file: every line
//     intact (count and sha256).
//   PID-1 memory with 100 services relayed (plain, prefix, json) against
//     passthrough, and idle CPU with 100 relayed services.
// The throughput and twenty runs are ordinary processes (neither relay needs
// to be PID 1, and supervisord is not); memory and idle CPU run as PID 1.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Benchmark, Target } from '../lib/benchmark.js';
import { warnings } from '../lib/instance.js';
import { waitQuiet } from '../lib/machine.js';
import { berthLaunch, findProgram } from '../lib/peers.js';
import { delay, Pid1 } from '../lib/pid1.js';
import { cpuOf, memoryOf } from '../lib/proc.js';
import { figures, fmt, mb, num, rotated, Samples } from '../lib/stats.js';
import type { Options } from '../options.js';
import { busyLine, label, mbS, median, progress, ratioText } from '../report.js';

const LINE = `${'0123456789'.repeat(9)}012345678`; // 99 bytes and a newline
const WRITES = 1074; // of 1 MB: 1 GiB
const BYTES = WRITES * 1e6;
const RUN_TIMEOUT_MS = 120_000;
const SUPERVISORD = findProgram('supervisord');

const MODES = ['alone', 'plain', 'prefix', 'passthrough', 'supervisord', 'alonePipe', 'plainPipe', 'prefixPipe', 'jsonPipe', 'supervisordPipe'] as const;
type Mode = (typeof MODES)[number];
/** the piped modes: the relay's stdout a pipe that `cat` drains */
const PIPED: Partial<Record<Mode, 'alone' | 'plain' | 'prefix' | 'json' | 'supervisord'>> = { alonePipe: 'alone', plainPipe: 'plain', prefixPipe: 'prefix', jsonPipe: 'json', supervisordPipe: 'supervisord' };
const RELAYED = ['plain', 'prefix', 'json'] as const;
const HUNDRED_FORMATS = ['passthrough', ...RELAYED] as const;
type Format = (typeof HUNDRED_FORMATS)[number];
const MEMORY_FIGURES = ['rss', 'pss', 'uss'] as const;
const IDLE_FORMATS = ['plain', 'prefix'] as const;

export interface LogsResult {
  busy: Samples;
  /** GB/s per run */
  throughput: Record<Mode, Samples>;
  twenty: { intact: number; broken: number; lines: number; seconds: number } | undefined;
  /** PID-1 memory in kB, 100 services */
  memory: Record<Format, Record<(typeof MEMORY_FIGURES)[number], Samples>>;
  /** PID-1 CPU over the idle window with 100 relayed services: ticks and ms */
  idle: Record<(typeof IDLE_FORMATS)[number], { ticks: Samples; ms: Samples }>;
  idleSeconds: number;
}

/** Processes and dirs of runs under way, for ^C. */
const live = new Set<{ child?: ChildProcess; dir: string }>();

function scratch(what: string): { dir: string } {
  const run = { dir: mkdtempSync(join(tmpdir(), `berth-bench-logs-${what}-`)) };
  live.add(run);
  return run;
}

function remove(run: { child?: ChildProcess; dir: string }): void {
  rmSync(run.dir, { recursive: true, force: true });
  live.delete(run);
}

function cleanup(): void {
  for (const run of live) {
    run.child?.kill('SIGKILL');
    rmSync(run.dir, { recursive: true, force: true });
  }
  live.clear();
}

/** The producer: writes 1 GiB of lines, then its own elapsed ns into ./elapsed. */
const FLOOD = `s=$(date +%s%N); perl -e '$b = ("${LINE}\\n") x 10000; syswrite(STDOUT, $b) for 1..${WRITES}'; e=$(date +%s%N); echo $((e - s)) > elapsed`;

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms)));
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** Berth with `manifest`, an ordinary process, stdout to `stdout`; resolves with its exit code once it is done. */
async function runBerth(dir: string, manifest: object, stdout: number): Promise<number | null> {
  const launch = berthLaunch(dir, manifest);
  const child = spawn(launch.argv[0], launch.argv.slice(1), { cwd: dir, env: launch.env, stdio: ['ignore', stdout, 'inherit'] });
  const run = { child, dir };
  live.add(run);
  const code = await within(exited(child), RUN_TIMEOUT_MS, 'berth');
  live.delete(run);
  return code;
}

/**
 * A real pipe (a FIFO in `dir`) that `cat` drains to /dev/null, as a container engine reads the init's stdout:
 * its write end for the relay, and `done`, which closes it and waits for `cat` to see the end.
 */
function catPipe(run: { child?: ChildProcess; dir: string }): { fd: number; done: () => Promise<void> } {
  const fifo = join(run.dir, 'stdout.fifo');
  execFileSync('mkfifo', [fifo]);
  const cat = spawn('cat', [fifo], { stdio: ['ignore', 'ignore', 'inherit'] });
  const catExited = exited(cat);
  // blocks until cat has opened its end: a moment
  const fd = openSync(fifo, 'w');
  return {
    fd,
    done: async () => {
      closeSync(fd);
      await within(catExited, 10_000, 'cat').catch(() => cat.kill('SIGKILL'));
    },
  };
}

/** ns the producer took through `mode`'s relay (the init exits once its only service is done; supervisord is stopped). */
async function floodThrough(mode: Mode): Promise<number> {
  const run = scratch(mode);
  const elapsed = join(run.dir, 'elapsed');
  const piped = PIPED[mode];
  const out = piped ? catPipe(run) : { fd: openSync('/dev/null', 'w'), done: async () => undefined };
  try {
    if (mode === 'alone' || piped === 'alone') spawnSync('sh', ['-c', FLOOD], { cwd: run.dir, stdio: ['ignore', out.fd, 'inherit'] });
    else if (mode === 'supervisord' || piped === 'supervisord') await viaSupervisord(run, out.fd);
    else {
      const format = piped ?? mode;
      const code = await runBerth(run.dir, { version: 1, logging: { format }, services: { flood: { script: FLOOD } } }, out.fd);
      if (code !== 0) throw new Error(`berth ${mode} exited with ${code}`);
    }
    return Number(readFileSync(elapsed, 'utf8'));
  } finally {
    if (!piped) closeSync(out.fd);
    await out.done();
    remove(run);
  }
}

async function viaSupervisord(run: { child?: ChildProcess; dir: string }, stdout: number): Promise<void> {
  const conf = join(run.dir, 'supervisord.conf');
  writeFileSync(join(run.dir, 'flood.sh'), FLOOD);
  writeFileSync(
    conf,
    [
      '[supervisord]', 'nodaemon=true', `logfile=${join(run.dir, 'supervisord.log')}`, `pidfile=${join(run.dir, 'supervisord.pid')}`, `directory=${run.dir}`,
      '[program:flood]', `command=/bin/sh ${join(run.dir, 'flood.sh')}`, 'autorestart=false', 'startsecs=0',
      'stdout_logfile=/dev/stdout', 'stdout_logfile_maxbytes=0', 'redirect_stderr=true', '',
    ].join('\n'),
  );
  const child = spawn(SUPERVISORD!, ['-c', conf], { cwd: run.dir, stdio: ['ignore', stdout, 'inherit'] });
  run.child = child;
  const gone = exited(child);
  try {
    // supervisord stays after its program is done: the producer's file says when
    const done = (async (): Promise<void> => {
      while (!existsSync(join(run.dir, 'elapsed')) || readFileSync(join(run.dir, 'elapsed'), 'utf8').trim() === '') {
        if (child.exitCode !== null) throw new Error(`supervisord exited (${child.exitCode}) before the flood was done`);
        await delay(20);
      }
    })();
    await within(done, RUN_TIMEOUT_MS, 'supervisord');
  } finally {
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(timer);
  }
}

async function throughput(o: Options, r: LogsResult): Promise<void> {
  for (let i = 0; i < o.runs; i++) {
    progress(`logs: throughput run ${i + 1}/${o.runs}`);
    for (const mode of rotated(MODES, i)) {
      if ((mode === 'supervisord' || mode === 'supervisordPipe') && !SUPERVISORD) continue;
      r.busy.add(await waitQuiet());
      try {
        r.throughput[mode].add(BYTES / (await floodThrough(mode)));
      } catch (err) {
        r.throughput[mode].add(NaN);
        warnings.push(`logs ${mode} run ${i + 1}: ${(err as Error).message}`);
      }
    }
  }
}

async function twenty(r: LogsResult): Promise<void> {
  const lines = 134_218; // each: 2.7 million lines in all
  progress('logs: twenty services at once');
  const services: Record<string, object> = {};
  for (let i = 0; i < 20; i++) services[`s${i}`] = { script: `seq 1 ${lines} | sed 's/^/s${i} line /'` };
  const run = scratch('twenty');
  try {
    const out = join(run.dir, 'out');
    const fd = openSync(out, 'w');
    const started = performance.now();
    try {
      await runBerth(run.dir, { version: 1, logging: { format: 'prefix' }, services }, fd);
    } finally {
      closeSync(fd);
    }
    const seconds = (performance.now() - started) / 1000;
    const seen = new Map<string, { count: number; hash: ReturnType<typeof createHash> }>();
    let broken = 0;
    let carry = '';
    for await (const chunk of createReadStream(out, { encoding: 'latin1' })) {
      const parts = (carry + chunk).split('\n');
      carry = parts.pop()!;
      for (const l of parts) {
        if (l.startsWith('[berth]')) continue;
        const m = /^(s\d+) *\| (s\d+) line \d+$/.exec(l);
        if (!m || m[1] !== m[2]) {
          broken++;
          continue;
        }
        const s = seen.get(m[1]) ?? { count: 0, hash: createHash('sha256') };
        s.count++;
        s.hash.update(`${l.slice(l.indexOf('| ') + 2)}\n`);
        seen.set(m[1], s);
      }
    }
    let intact = 0;
    for (let i = 0; i < 20; i++) {
      const want = createHash('sha256');
      for (let k = 1; k <= lines; k++) want.update(`s${i} line ${k}\n`);
      const s = seen.get(`s${i}`);
      if (s && s.count === lines && s.hash.digest('hex') === want.digest('hex')) intact++;
    }
    r.twenty = { intact, broken, lines, seconds };
  } catch (err) {
    warnings.push(`logs twenty: ${(err as Error).message}`);
  } finally {
    remove(run);
  }
}

/** 100 services that each print one line and sleep, as PID 1, in `format`; resolves once every line is out. */
async function hundred(format: Format): Promise<{ init: Pid1; run: { dir: string } }> {
  const run = scratch(`hundred-${format}`);
  const services: Record<string, object> = {};
  for (let i = 0; i < 100; i++) services[`svc${i}`] = { script: `echo "svc${i} says hello"; exec sleep 1000` };
  const launch = berthLaunch(run.dir, { version: 1, logging: { format }, services });
  const init = new Pid1(launch.argv, launch.env, run.dir);
  try {
    await init.pidAsync();
    await init.waitForLines((text) => text.includes('says hello'), 100, 30_000);
  } catch (err) {
    await stopHundred({ init, run });
    throw err;
  }
  return { init, run };
}

async function stopHundred(h: { init: Pid1; run: { dir: string } }): Promise<void> {
  await h.init.stop('SIGTERM', 3000);
  remove(h.run);
}

async function memory(o: Options, r: LogsResult): Promise<void> {
  const rounds = Math.min(o.runs, 3);
  for (let i = 0; i < rounds; i++) {
    progress(`logs: memory with 100 services, round ${i + 1}/${rounds}`);
    for (const format of HUNDRED_FORMATS) {
      r.busy.add(await waitQuiet());
      try {
        const h = await hundred(format);
        try {
          await delay(2000); // every first line relayed, the heap settled
          const m = memoryOf(h.init.pid());
          r.memory[format].rss.add(m?.rssKb);
          r.memory[format].pss.add(m?.pssKb);
          r.memory[format].uss.add(m?.ussKb);
        } finally {
          await stopHundred(h);
        }
      } catch (err) {
        for (const k of MEMORY_FIGURES) r.memory[format][k].add(NaN);
        warnings.push(`logs memory ${format}: ${(err as Error).message}`);
      }
    }
  }
}

async function idle(o: Options, r: LogsResult): Promise<void> {
  progress(`logs: idle CPU with 100 relayed services, ${o.cpuSeconds} s`);
  const running: Array<{ init: Pid1; run: { dir: string } }> = [];
  try {
    for (const format of IDLE_FORMATS) running.push(await hundred(format));
    await delay(2000);
    const before = running.map((h) => cpuOf([h.init.pid()]));
    const t0 = performance.now();
    await delay(o.cpuSeconds * 1000);
    r.idleSeconds = (performance.now() - t0) / 1000;
    IDLE_FORMATS.forEach((format, i) => {
      const after = cpuOf([running[i].init.pid()]);
      r.idle[format].ticks.add(after.ticks - before[i].ticks);
      r.idle[format].ms.add((after.ns - before[i].ns) / 1e6);
    });
  } catch (err) {
    warnings.push(`logs idle CPU: ${(err as Error).message}`);
  } finally {
    await Promise.all(running.map(stopHundred));
  }
}

async function measure(o: Options): Promise<LogsResult> {
  const r: LogsResult = {
    busy: new Samples(),
    throughput: figures(MODES),
    twenty: undefined,
    memory: Object.fromEntries(HUNDRED_FORMATS.map((f) => [f, figures(MEMORY_FIGURES)])) as LogsResult['memory'],
    idle: Object.fromEntries(IDLE_FORMATS.map((f) => [f, figures(['ticks', 'ms'] as const)])) as LogsResult['idle'],
    idleSeconds: o.cpuSeconds,
  };
  await throughput(o, r);
  await twenty(r);
  await memory(o, r);
  await idle(o, r);
  return r;
}

function supervisordVersion(): string {
  if (!SUPERVISORD) return 'not installed (apt-get install -y supervisor)';
  const v = spawnSync(SUPERVISORD, ['--version'], { encoding: 'utf8', timeout: 5000 }).stdout?.trim();
  return v || 'unknown version';
}

function report(r: LogsResult): { lines: string[]; targets: Target[] } {
  const t = r.throughput;
  const gbps = (mode: Mode): string => fmt(t[mode].summary, 'GB/s');
  const versus = (mode: Mode): string => (SUPERVISORD ? `; ${ratioText(t[mode].ratioTo(PIPED[mode] ? t.supervisordPipe : t.supervisord), 'vs supervisord')}` : '');
  const lines = [
    `8. log relay: one service writes 1 GiB of 100-byte lines (perl, 1 MB a write), the relay's stdout on /dev/null, then a pipe;`,
    `   the producer times itself (first write to the last one its pipe took); the modes take turns in each run`,
    busyLine(r.busy),
    `   ${label('producer alone')}${gbps('alone')}`,
    `   ${label('berth plain')}${gbps('plain')}${versus('plain')}`,
    `   ${label('berth prefix')}${gbps('prefix')}${versus('prefix')}`,
    `   ${label('berth passthrough')}${gbps('passthrough')} (the service writes to /dev/null itself)`,
    `   ${label('supervisord')}${SUPERVISORD ? `${gbps('supervisord')} (${supervisordVersion()})` : supervisordVersion()}`,
    `   the relay's stdout a pipe that \`cat\` drains (what a container engine reads):`,
    `   ${label('producer into cat')}${gbps('alonePipe')} (no relay: the producer's own stdout the pipe, the most any relay can give)`,
    `   ${label('berth plain')}${gbps('plainPipe')}${versus('plainPipe')}`,
    `   ${label('berth prefix')}${gbps('prefixPipe')}${versus('prefixPipe')}`,
    `   ${label('berth json')}${gbps('jsonPipe')}${versus('jsonPipe')}`,
    `   ${label('supervisord')}${SUPERVISORD ? gbps('supervisordPipe') : supervisordVersion()}`,
  ];
  const tw = r.twenty;
  lines.push(
    `   twenty services at once, ${tw ? tw.lines.toLocaleString('en-US') : '?'} numbered lines each, prefix, stdout to a file:`,
    `   ${label('')}${tw ? `${tw.intact}/20 intact by count and sha256, ${tw.broken} broken lines, ${num(tw.seconds, 2)} s` : 'no data'}`,
    `   PID-1 memory, 100 services each printing one line then sleeping, 2 s after the last line (relayed: median MB above passthrough's):`,
  );
  const above = (format: Format, k: (typeof MEMORY_FIGURES)[number]): number | undefined => {
    const a = r.memory[format][k].summary;
    const b = r.memory.passthrough[k].summary;
    return a && b ? mb(a.median - b.median) : undefined;
  };
  const signed = (x: number | undefined): string => (x === undefined ? '?' : `${x >= 0 ? '+' : ''}${num(x, 2)}`);
  const m = r.memory.passthrough;
  lines.push(`   ${label('passthrough')}RSS ${median(mbS(m.rss.summary), 'MB', 1)}; PSS ${median(mbS(m.pss.summary), 'MB', 1)}; USS ${median(mbS(m.uss.summary), 'MB', 1)} (n=${m.pss.summary?.n ?? 0})`);
  for (const format of RELAYED) lines.push(`   ${label(format)}RSS ${signed(above(format, 'rss'))} MB; PSS ${signed(above(format, 'pss'))} MB; USS ${signed(above(format, 'uss'))} MB`);
  lines.push(`   idle CPU of PID 1 with 100 relayed services over ${num(r.idleSeconds, 1)} s:`);
  for (const format of IDLE_FORMATS) lines.push(`   ${label(format)}${fmt(r.idle[format].ticks.summary, 'ticks', 0)}; ${fmt(r.idle[format].ms.summary, 'ms CPU')}`);

  /** `mode` against supervisord's relay to the same stdout, by the per-run ratio: ahead by more than `by`, or (`level`) at least level */
  const ahead = (mode: Mode, by = 1, level = false): Target => {
    const peer = PIPED[mode] ? t.supervisordPipe : t.supervisord;
    const ratio = t[mode].ratioTo(peer);
    const piped = PIPED[mode];
    return {
      what: `log relay ${piped ?? mode}, 1 GiB${piped ? ', into a pipe' : ''}`,
      target: level ? 'level with supervisord or ahead (same runs)' : by > 1 ? `${by}x supervisord (same runs)` : 'ahead of supervisord (same runs)',
      berth: median(t[mode].summary, 'GB/s'),
      pass: ratio ? (level ? ratio.median >= 1 : ratio.median > by) : undefined,
      peers: `${SUPERVISORD ? `supervisord ${median(peer.summary, 'GB/s')}${ratio ? `, per-run ratio ${num(ratio.median, 2)}x` : ''}` : 'supervisord not installed'}${piped ? `; no relay (producer into cat) ${median(t.alonePipe.summary, 'GB/s')}` : ''}`,
    };
  };
  const worstPss = Math.max(...RELAYED.map((f) => above(f, 'pss') ?? NaN));
  const ticks = Math.max(...IDLE_FORMATS.map((f) => r.idle[f].ticks.summary?.max ?? NaN));
  const targets: Target[] = [
    ahead('plain'),
    ahead('prefix'),
    ahead('plainPipe', 1.2),
    ahead('prefixPipe', 1, true),
    ahead('jsonPipe', 1, true),
    { what: 'log relay passthrough', target: 'unchanged (no relay)', berth: median(t.passthrough.summary, 'GB/s'), pass: undefined, peers: `producer alone ${median(t.alone.summary, 'GB/s')}` },
    { what: 'twenty services at once', target: 'every line intact', berth: tw ? `${tw.intact}/20, ${tw.broken} broken` : 'no data', pass: tw ? tw.intact === 20 && tw.broken === 0 : undefined, peers: '' },
    { what: 'PSS, 100 relayed services', target: 'within 3 MB of passthrough', berth: Number.isFinite(worstPss) ? `${signed(worstPss)} MB (worst format)` : 'no data', pass: Number.isFinite(worstPss) ? worstPss < 3 : undefined, peers: '' },
    { what: 'idle CPU, 100 relayed services', target: '~0 (<= 1 tick)', berth: Number.isFinite(ticks) ? `${ticks} ticks max` : 'no data', pass: Number.isFinite(ticks) ? ticks <= 1 : undefined, peers: '' },
  ];
  return { lines, targets };
}

export const logs: Benchmark<LogsResult> = { name: 'logs', measure, report, cleanup };
