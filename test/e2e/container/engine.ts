// The container test tier's engine: podman with a throwaway store per ava run
// (--root/--runroot under one temp dir) and a containers.conf with the two
// settings this kind of machine needs (runc; ulimits it allows). Every test
// file of this folder in one ava run shares that store, so the parent and
// base images are built once; the last file to finish removes it all.
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMainThread } from 'node:worker_threads';
import { findProgram } from '../../../src/unix/find-program.js';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
export const cli = join(repoRoot, 'dist/src/cli/main.js');
export const PARENT = 'localhost/berth/parent';
export const BASE = 'localhost/berth/base';

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface Engine {
  /** the run's directory: store, containers.conf, build contexts */
  dir: string;
  /** environment for podman (and for `berth build --tag`): CONTAINERS_CONF, CONTAINERS_STORAGE_CONF */
  env: NodeJS.ProcessEnv;
  podman(args: string[], opts?: { timeoutMs?: number; input?: string }): Promise<Result>;
}

// ava runs each test file in a worker thread of its own process (or, with
// workerThreads: false, in a child process): either way this names the run.
const avaPid = isMainThread ? process.ppid : process.pid;
const runDir = join(tmpdir(), `berth-containers-${avaPid}`);

/** Why the tier cannot run here, or undefined when it can. */
export function unavailable(): string | undefined {
  if (process.platform !== 'linux') return 'container tests need Linux';
  if (!findProgram('podman', process.env.PATH)) return 'no container engine: podman is not installed (apt-get install podman runc); container tests skipped';
  if (process.getuid?.() !== 0) return 'container tests need root (rootful podman with a throwaway store); skipped';
  return undefined;
}

let engine: Engine | undefined;

/** The run's engine; the first call of a file registers the file as a user of the store. */
export function getEngine(file: string): Engine {
  if (engine) return engine;
  removeStaleRuns();
  mkdirSync(join(runDir, 'files'), { recursive: true });
  writeFileSync(join(runDir, 'files', basename(file)), 'running');
  const root = join(runDir, 'root');
  const runroot = join(runDir, 'run');
  const conf = join(runDir, 'containers.conf');
  const storage = join(runDir, 'storage.conf');
  if (!existsSync(conf)) {
    const nofile = hardNofile();
    writeFileSync(conf, [
      '[containers]',
      `default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=1024:1024"]`,
      '[engine]',
      'runtime = "runc"',
      '',
    ].join('\n'));
    writeFileSync(storage, ['[storage]', 'driver = "overlay"', `graphroot = "${root}"`, `runroot = "${runroot}"`, ''].join('\n'));
  }
  const env = { ...process.env, CONTAINERS_CONF: conf, CONTAINERS_STORAGE_CONF: storage };
  engine = {
    dir: runDir,
    env,
    podman: (args, opts = {}) => run('podman', ['--root', root, '--runroot', runroot, ...args], env, opts),
  };
  return engine;
}

/** Runs a program; never rejects (the exit code is in the result). */
export function run(file: string, args: string[], env: NodeJS.ProcessEnv, opts: { timeoutMs?: number; input?: string; cwd?: string } = {}): Promise<Result> {
  const started = Date.now();
  return new Promise((resolvePromise) => {
    const child = execFile(file, args, { env, cwd: opts.cwd, maxBuffer: 64 << 20, timeout: opts.timeoutMs ?? 120_000, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      const ms = Date.now() - started;
      resolvePromise({ code, stdout, stderr: err && !stderr ? `${stderr}${err.message}` : stderr, ms });
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}

// --- built once per run, whichever file asks first ---------------------------

/** The local parent (Debian bookworm + this machine's node), then berth/base FROM it; once per run. */
export async function baseImage(e: Engine, log: (msg: string) => void): Promise<string> {
  await once(e, 'parent', log, async () => {
    const env: NodeJS.ProcessEnv = { ...e.env, ENGINE: `podman --root ${join(e.dir, 'root')} --runroot ${join(e.dir, 'run')}` };
    if (process.env.BERTH_PARENT_CACHE) env.PARENT_CACHE = process.env.BERTH_PARENT_CACHE;
    return run(join(repoRoot, 'test/e2e/container/make-parent.sh'), [PARENT], env, { timeoutMs: 600_000 });
  });
  await once(e, 'base', log, () =>
    e.podman(['build', '-q', '-f', 'Dockerfile.base', '--build-arg', `BASE_IMAGE=${PARENT}`, '-t', BASE, repoRoot], { timeoutMs: 300_000 }),
  );
  return BASE;
}

/**
 * Runs `step` once per run across every test file (worker threads or
 * processes): the first caller takes a lock directory, the others wait for its
 * outcome, a failure included.
 */
export async function once(e: Engine, name: string, log: (msg: string) => void, step: () => Promise<Result>): Promise<void> {
  const done = join(e.dir, `${name}.done`);
  const failed = join(e.dir, `${name}.failed`);
  const lock = join(e.dir, `${name}.lock`);
  let mine = false;
  try {
    mkdirSync(lock);
    mine = true;
  } catch {
    // someone else builds it
  }
  if (mine) {
    const r = await step();
    if (r.code === 0) {
      writeFileSync(done, String(r.ms));
      log(`${name}: built in ${(r.ms / 1000).toFixed(1)} s`);
    } else {
      writeFileSync(failed, `${name} failed (exit ${r.code}) after ${(r.ms / 1000).toFixed(1)} s:\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`);
    }
  }
  for (;;) {
    if (existsSync(done)) return;
    if (existsSync(failed)) throw new Error(readFileSync(failed, 'utf8'));
    await new Promise((r) => setTimeout(r, 250));
  }
}

// --- clean-up ------------------------------------------------------------------

/** Marks this file finished; the last of the tier's files in the run removes the containers and the store. */
export async function release(file: string): Promise<void> {
  if (!engine) return;
  writeFileSync(join(runDir, 'files', basename(file)), 'done');
  const marks = readdirSync(join(runDir, 'files'));
  const expected = expectedFiles();
  const allDone = marks.every((m) => readFileSync(join(runDir, 'files', m), 'utf8') === 'done') && expected.every((f) => marks.includes(f));
  if (allDone) await removeRun(runDir);
}

/** The container tier's test files this ava run will run: those of this folder named on its command line, else all of them. */
function expectedFiles(): string[] {
  const folder = dirname(fileURLToPath(import.meta.url));
  const isTierFile = (f: string): boolean => /\.test\.[cm]?js$/.test(f);
  let args: string[] = [];
  try {
    args = readFileSync(`/proc/${avaPid}/cmdline`, 'utf8').split('\0').slice(2);
  } catch {
    // not on Linux /proc: clean up when this file is done
  }
  const named = args.filter((a) => /\.test\.[cm]?[jt]s$/.test(a));
  if (named.length) return named.filter((a) => resolve(a).startsWith(`${folder}/`)).map((a) => basename(a)).filter(isTierFile);
  return readdirSync(folder).filter(isTierFile);
}

/** Removes a run's containers and store: unmount what is left, then one rm -rf. */
async function removeRun(dir: string): Promise<void> {
  const root = join(dir, 'root');
  const runroot = join(dir, 'run');
  const env = { ...process.env, CONTAINERS_CONF: join(dir, 'containers.conf'), CONTAINERS_STORAGE_CONF: join(dir, 'storage.conf') };
  if (existsSync(root)) await run('podman', ['--root', root, '--runroot', runroot, 'rm', '--all', '--force', '--time', '0'], env, { timeoutMs: 60_000 });
  for (const mount of mountsUnder(dir)) await run('umount', ['-l', mount], process.env, { timeoutMs: 10_000 });
  rmSync(dir, { recursive: true, force: true });
}

function mountsUnder(dir: string): string[] {
  try {
    return readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((line) => line.split(' ')[4])
      .filter((m): m is string => !!m && (m === dir || m.startsWith(`${dir}/`)))
      .sort((a, b) => b.length - a.length);
  } catch {
    return [];
  }
}

/** Stores left by runs whose ava process is gone (killed, crashed). */
function removeStaleRuns(): void {
  for (const name of readdirSync(tmpdir())) {
    const m = /^berth-containers-(\d+)$/.exec(name);
    if (!m || Number(m[1]) === avaPid || existsSync(`/proc/${m[1]}`)) continue;
    void removeRun(join(tmpdir(), name));
  }
}

/** The hard RLIMIT_NOFILE: the most root here may give a container (podman's default asks for more). */
function hardNofile(): string {
  const out = spawnSync('/bin/sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).stdout?.trim() ?? '';
  return /^\d+$/.test(out) ? out : '1024';
}

// --- helpers for tests -----------------------------------------------------------

/** Writes a build context (FILE → content) and builds it as `tag`. */
export async function buildContext(e: Engine, tag: string, files: Record<string, string>): Promise<Result> {
  const ctx = join(e.dir, 'contexts', tag.replace(/[^A-Za-z0-9._-]/g, '_'));
  rmSync(ctx, { recursive: true, force: true });
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(ctx, path)), { recursive: true });
    writeFileSync(join(ctx, path), content);
  }
  return e.podman(['build', '-q', '-t', tag, ctx], { timeoutMs: 300_000 });
}

/**
 * `berth build DEFINITION -o CONTEXT --tag TAG --kube` with podman and no
 * layer cache (BUILDAH_LAYERS=false), as a user would reproduce an image:
 * the image ID it prints, how long it took, and the context (with kube.yaml,
 * which is not part of the image).
 */
export async function buildImage(e: Engine, definition: string, tag: string): Promise<{ id: string; ms: number; ctx: string }> {
  const ctx = join(e.dir, 'contexts', tag.replace(/[^A-Za-z0-9._-]/g, '_'));
  const env: NodeJS.ProcessEnv = { ...e.env, BERTH_ENGINE: 'podman', BUILDAH_LAYERS: 'false' };
  delete env.SOURCE_DATE_EPOCH;
  const b = await run(process.execPath, [cli, 'build', definition, '-o', ctx, '--tag', tag, '--kube', '--kube-pull-policy', 'Never'], env, { timeoutMs: 300_000 });
  const id = /^image ID: (sha256:[0-9a-f]{64})$/m.exec(b.stdout)?.[1];
  if (b.code !== 0 || !id) throw new Error(`berth build --tag ${tag} failed (exit ${b.code}):\n${b.stdout}${b.stderr.slice(-3000)}`);
  return { id, ms: b.ms, ctx };
}

let counter = 0;
/** A container name unique to this run. */
export function containerName(prefix: string): string {
  return `${prefix}-${avaPid}-${process.pid === avaPid ? 't' : 'p'}${counter++}-${Math.random().toString(36).slice(2, 6)}`;
}

/** Polls `podman logs` until `pattern` shows up (or the time is up); returns the logs. */
export async function waitForLogs(e: Engine, name: string, pattern: RegExp, timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await e.podman(['logs', name]);
    const logs = r.stdout + r.stderr;
    if (pattern.test(logs) || Date.now() > deadline) return logs;
    await new Promise((res) => setTimeout(res, 200));
  }
}

