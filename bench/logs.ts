// The log relay's benchmark (issue #8): `npm run build && node dist/bench/logs.js`.
//
//   1. throughput: one service writes 1 GiB of 100-byte lines, the init's stdout
//      on /dev/null, in plain, prefix and passthrough (and through supervisord's
//      relay when it is installed: apt-get install -y supervisor)
//   2. twenty services writing at once: every line intact (count and checksum)
//   3. PID-1 PSS with 100 relayed services against passthrough
//   4. idle CPU of the init with 100 relayed services
//
// Each init runs in its own temp dir and is stopped (SIGTERM, then SIGKILL)
// and removed afterwards. Options: --quick (128 MiB, 1 run), --runs N,
// --gib G, --only throughput,twenty,memory,cpu. Results: docs/PERFORMANCE.md.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const berth = join(root, 'dist/src/cli/main.js');
// 99 bytes and a newline
const LINE = `${'0123456789'.repeat(9)}012345678`;

interface Options {
  runs: number;
  bytes: number;
  only: Set<string>;
}

function parseOptions(argv: string[]): Options {
  const o: Options = { runs: 3, bytes: 2 ** 30, only: new Set(['throughput', 'twenty', 'memory', 'cpu']) };
  if (argv.includes('--quick')) Object.assign(o, { runs: 1, bytes: 2 ** 27 });
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--runs') o.runs = Number(argv[++i]);
    else if (argv[i] === '--gib') o.bytes = Math.round(Number(argv[++i]) * 2 ** 30);
    else if (argv[i] === '--only') o.only = new Set(argv[++i].split(','));
    else if (argv[i] !== "--quick") throw new Error(`unknown option ${argv[i]}\nusage: node dist/bench/logs.js [--quick] [--runs N] [--gib G] [--only throughput,twenty,memory,cpu]`);
  }
  return o;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A running init (or supervisord) in its own temp dir. */
interface Run {
  dir: string;
  proc: ChildProcess;
  exited: Promise<number | null>;
}

function startBerth(manifest: object, stdout: number | 'ignore' = 'ignore'): Run {
  const dir = mkdtempSync(join(tmpdir(), 'berth-bench-logs-'));
  writeFileSync(join(dir, 'm.json'), JSON.stringify(manifest));
  const proc = spawn(process.execPath, ['--no-opt', '--no-memory-reducer', berth, 'init', join(dir, 'state'), '--manifest', join(dir, 'm.json')], {
    cwd: dir,
    stdio: ['ignore', stdout, 'inherit'],
  });
  return { dir, proc, exited: new Promise((r) => proc.once('exit', (code) => r(code))) };
}

function startSupervisord(command: string): Run {
  const dir = mkdtempSync(join(tmpdir(), 'berth-bench-supervisord-'));
  writeFileSync(join(dir, 'flood.sh'), command);
  writeFileSync(join(dir, 'supervisord.conf'), [
    '[supervisord]', 'nodaemon=true', `logfile=${join(dir, 'supervisord.log')}`, `pidfile=${join(dir, 'supervisord.pid')}`, `directory=${dir}`,
    '[program:flood]', `command=/bin/sh ${join(dir, 'flood.sh')}`, 'autorestart=false', 'startsecs=0',
    'stdout_logfile=/dev/stdout', 'stdout_logfile_maxbytes=0', 'redirect_stderr=true', '',
  ].join('\n'));
  const proc = spawn('supervisord', ['-c', join(dir, 'supervisord.conf')], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
  return { dir, proc, exited: new Promise((r) => proc.once('exit', (code) => r(code))) };
}

async function stop(run: Run): Promise<void> {
  if (run.proc.exitCode === null && run.proc.signalCode === null) {
    run.proc.kill('SIGTERM');
    const timer = setTimeout(() => run.proc.kill('SIGKILL'), 5000);
    await run.exited;
    clearTimeout(timer);
  }
  rmSync(run.dir, { recursive: true, force: true });
}

/** Waits for `file` to appear (the flood's own timing), up to `ms`. */
async function waitFile(file: string, ms: number): Promise<string> {
  const deadline = Date.now() + ms;
  while (!existsSync(file) || readFileSync(file, 'utf8').trim() === '') {
    if (Date.now() > deadline) throw new Error(`${file} did not appear within ${ms} ms`);
    await sleep(20);
  }
  return readFileSync(file, 'utf8').trim();
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// ------------------------------------------------------------ 1. throughput

/** The flood times itself, from its first write to its last one taken by the pipe (ns); it writes 1 MB of lines per write. */
function flood(bytes: number): string {
  const writes = Math.round(bytes / 1e6);
  return `s=$(date +%s%N); perl -e '$b = ("${LINE}\\n") x 10000; syswrite(STDOUT, $b) for 1..${writes}'; e=$(date +%s%N); echo $((e - s)) > elapsed`;
}

async function throughput(o: Options): Promise<void> {
  console.log(`\n1. throughput: one service writes ${(o.bytes / 2 ** 30).toFixed(2)} GiB of 100-byte lines, the init's stdout on /dev/null (median of ${o.runs})`);
  const devnull = openSync('/dev/null', 'w');
  const modes: [string, () => Run][] = [
    ['berth plain', () => startBerth({ version: 1, services: { flood: { script: flood(o.bytes) } } }, devnull)],
    ['berth prefix', () => startBerth({ version: 1, logging: { format: 'prefix' }, services: { flood: { script: flood(o.bytes) } } }, devnull)],
    ['berth passthrough', () => startBerth({ version: 1, logging: { format: 'passthrough' }, services: { flood: { script: flood(o.bytes) } } }, devnull)],
  ];
  if (spawnSync('sh', ['-c', 'command -v supervisord']).status === 0) modes.push(['supervisord', () => startSupervisord(flood(o.bytes))]);
  else console.log('   supervisord: not installed (apt-get install -y supervisor)');
  // the producer alone, straight to /dev/null: the ceiling
  const bare = (): Promise<number> => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-bench-bare-'));
    spawnSync('sh', ['-c', `{ ${flood(o.bytes)}; } > /dev/null`], { cwd: dir });
    const ns = Number(readFileSync(join(dir, 'elapsed'), 'utf8'));
    rmSync(dir, { recursive: true, force: true });
    return Promise.resolve(ns);
  };
  const rows: [string, number][] = [];
  const times: number[] = [];
  for (let i = 0; i < o.runs; i++) times.push(await bare());
  rows.push(['producer alone (to /dev/null)', median(times)]);
  for (const [name, start] of modes) {
    const ns: number[] = [];
    for (let i = 0; i < o.runs; i++) {
      const run = start();
      try {
        const elapsed = join(run.dir, 'elapsed');
        // an init exits once its only service is done; supervisord stays
        const gone = run.exited.then((c) => (existsSync(elapsed) ? readFileSync(elapsed, 'utf8') : Promise.reject(new Error(`${name} exited (${c}) before the flood was done`))));
        ns.push(Number(await Promise.race([waitFile(elapsed, 600_000), gone])));
      } finally {
        await stop(run);
      }
    }
    rows.push([name, median(ns)]);
  }
  const total = Math.round(o.bytes / 1e6) * 1e6;
  for (const [name, ns] of rows) console.log(`   ${name.padEnd(30)} ${(ns / 1e9).toFixed(2).padStart(6)} s  ${(total / ns).toFixed(2).padStart(5)} GB/s`);
}

// ------------------------------------------------------------ 2. twenty at once

async function twenty(o: Options): Promise<void> {
  const lines = Math.max(10_000, Math.round(o.bytes / 20 / 100 / 4));
  console.log(`\n2. twenty services at once, ${lines} numbered lines each, prefix format, stdout to a file`);
  const services: Record<string, object> = {};
  for (let i = 0; i < 20; i++) services[`s${i}`] = { script: `seq 1 ${lines} | sed 's/^/s${i} line /'` };
  const dir = mkdtempSync(join(tmpdir(), 'berth-bench-twenty-'));
  const outFile = join(dir, 'out');
  const started = process.hrtime.bigint();
  const run = startBerth({ version: 1, logging: { format: 'prefix' }, services }, openSync(outFile, 'w'));
  await run.exited;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const seen = new Map<string, { count: number; hash: ReturnType<typeof createHash> }>();
  let broken = 0;
  let carry = '';
  for await (const chunk of createReadStream(outFile, { encoding: 'latin1' })) {
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
  console.log(`   ${intact}/20 services intact by count and sha256, ${broken} broken lines, ${seconds.toFixed(2)} s for ${(20 * lines).toLocaleString()} lines`);
  await stop(run);
  rmSync(dir, { recursive: true, force: true });
}

// ------------------------------------------------------------ 3. memory, 4. idle CPU

function hundred(format: string): object {
  const services: Record<string, object> = {};
  for (let i = 0; i < 100; i++) services[`svc${i}`] = { script: `echo "svc${i} says hello"; exec sleep 1000` };
  return { version: 1, logging: { format }, services };
}

async function settled(run: Run): Promise<void> {
  for (let i = 0; i < 500 && !existsSync(join(run.dir, 'state')); i++) await sleep(20);
  await sleep(3000); // up, every first line relayed, the heap settled
}

/** PSS, RSS and USS (private pages) of `pid`, in kB. PSS moves by a few MB when other Node processes share libnode's pages: USS does not. */
function memoryKb(pid: number): { pss: number; rss: number; uss: number } {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text)![1]);
  return { pss: field('Pss'), rss: field('Rss'), uss: field('Private_Clean') + field('Private_Dirty') };
}

async function memory(o: Options): Promise<void> {
  console.log(`\n3. PID-1 memory with 100 services, each printing one line then sleeping (median of ${o.runs})`);
  const base: Record<string, number> = {};
  for (const format of ['passthrough', 'plain', 'prefix', 'json']) {
    const runs: { pss: number; rss: number; uss: number }[] = [];
    for (let i = 0; i < o.runs; i++) {
      const run = startBerth(hundred(format));
      try {
        await settled(run);
        runs.push(memoryKb(run.proc.pid!));
      } finally {
        await stop(run);
      }
    }
    const row = (['pss', 'rss', 'uss'] as const).map((k) => {
      const kb = median(runs.map((r) => r[k]));
      if (format === 'passthrough') base[k] = kb;
      const delta = format === 'passthrough' ? '' : ` (${kb >= base[k] ? '+' : ''}${((kb - base[k]) / 1024).toFixed(2)})`;
      return `${k.toUpperCase()} ${(kb / 1024).toFixed(1)} MB${delta}`;
    });
    console.log(`   ${format.padEnd(12)} ${row.join('   ')}`);
  }
}

function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

async function idleCpu(): Promise<void> {
  const seconds = 20;
  console.log(`\n4. idle CPU of the init with 100 relayed services over ${seconds} s`);
  const run = startBerth(hundred('plain'));
  try {
    await settled(run);
    const before = cpuTicks(run.proc.pid!);
    await sleep(seconds * 1000);
    console.log(`   ${cpuTicks(run.proc.pid!) - before} clock ticks (of 100 per second) used`);
  } finally {
    await stop(run);
  }
}

const options = parseOptions(process.argv.slice(2));
if (options.only.has('throughput')) await throughput(options);
if (options.only.has('twenty')) await twenty(options);
if (options.only.has('memory')) await memory(options);
if (options.only.has('cpu')) await idleCpu();
