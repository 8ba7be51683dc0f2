// What Berth does with a manifest or image definition path that is not a
// plain, readable, reasonably sized file, or a text nested too deep: one
// located line, a clean exit code, never a hang or a crash.
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { berth as berthCli } from '../helpers/init.js';
import { MAX_NESTING } from '../../src/manifest/nesting.js';
import { MAX_MANIFEST_BYTES } from '../../src/manifest/parse.js';
import { MAX_DEFINITION_BYTES } from '../../src/image/load.js';

interface Run { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; ms: number }

/** The real CLI, killed after `timeoutMs` so a hang fails the test instead of stalling it. */
function berth(args: string[], options: { uid?: number; timeoutMs?: number } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(berthCli[0], [...berthCli.slice(1), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      uid: options.uid,
      gid: options.uid,
      timeout: options.timeoutMs ?? 10_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr, ms: Date.now() - started }));
  });
}

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'berth-limits-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function fifo(dir: string, name: string): string {
  const path = join(dir, name);
  const made = spawnSync('mkfifo', [path]);
  if (made.status !== 0) throw new Error(`mkfifo failed: ${made.stderr}`);
  return path;
}

const PROBLEM_LINE = /^[^\n]+:\d+:\d+: [^\n]+: [^\n]+$/;

test('a FIFO as a manifest is one problem line at once, not a blocked open', async (t) => {
  const dir = tempDir(t);
  const path = fifo(dir, 'manifest.yaml');
  const run = await berth(['validate', path]);
  t.is(run.code, 1);
  t.is(run.stdout, `${path}:1:1: (file): this is a FIFO (named pipe); give the path of a manifest file\n1 problem in 1 of 1 file\n`);
  // a blocked open never returns at all; the bound is the file's own for "at once" on a loaded machine (as below)
  t.true(run.ms < 10_000, `took ${run.ms} ms`);
});

test('berth init refuses a FIFO manifest with exit 2 and starts nothing', async (t) => {
  const dir = tempDir(t);
  const path = fifo(dir, 'manifest.json');
  const stateDir = join(dir, 'state');
  const run = await berth(['init', stateDir, '--manifest', path]);
  t.is(run.code, 2);
  t.regex(run.stderr, /manifest\.json:1:1: \(file\): this is a FIFO \(named pipe\); give the path of a manifest file\n/);
  t.regex(run.stderr, /does not validate \(1 problem\); nothing was started/);
  t.false(existsSync(stateDir), 'the state dir was never made');
});

test('a FIFO, directory or device as an image definition or one of its imports is one problem, not a hang', async (t) => {
  const dir = tempDir(t);
  const pipe = fifo(dir, 'image.yaml');
  writeFileSync(join(dir, 'top.yaml'), 'imports: [./image.yaml]\nimage: { name: x }\n');
  const direct = await berth(['build', pipe, '-o', join(dir, 'out')]);
  t.is(direct.code, 1);
  t.regex(direct.stderr, /image\.yaml:1:1: \(file\): this is a FIFO \(named pipe\); give the path of an image definition file\n/);
  t.false(existsSync(join(dir, 'out')));
  const imported = await berth(['validate', join(dir, 'top.yaml')]);
  t.is(imported.code, 1);
  t.regex(imported.stdout, /top\.yaml:1:11: imports: \S+image\.yaml: this is a FIFO \(named pipe\); give the path of an image definition file\n/);
  writeFileSync(join(dir, 'dev.yaml'), 'imports: [../../dev/zero]\n');
  writeFileSync(join(dir, 'dirs.yaml'), 'imports: [./]\n');
  const devices = await berth(['validate', join(dir, 'dev.yaml'), join(dir, 'dirs.yaml')]);
  t.is(devices.code, 1);
  t.regex(devices.stdout, /dev\.yaml:1:11: imports: \S+zero: this is a character device; give the path of an image definition file\n/);
  t.regex(devices.stdout, /dirs\.yaml:1:11: imports: \S+: this is a directory; give the path of an image definition file\n/);
});

test('a directory, a character device and a socket each get one line, and validate goes on to the next file', async (t) => {
  const dir = tempDir(t);
  const socket = join(dir, 'manifest.sock');
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  t.teardown(() => server.close());
  const run = await berth(['validate', dir, '/dev/zero', '/dev/null', socket]);
  t.is(run.code, 1);
  t.deepEqual(run.stdout.split('\n'), [
    `${dir}:1:1: (file): this is a directory; give the path of a manifest file`,
    '/dev/zero:1:1: (file): this is a character device; give the path of a manifest file',
    '/dev/null:1:1: (file): this is a character device; give the path of a manifest file',
    `${socket}:1:1: (file): this is a socket; give the path of a manifest file`,
    '4 problems in 4 of 4 files',
    '',
  ]);
});

// Root reads everything: the unreadable case runs the CLI as nobody (uid 65534), whom mode 0600 keeps out.
const asNobody = spawnSync(berthCli[0], [...berthCli.slice(1), '--help'], { uid: 65534, gid: 65534 });
const nobodyCanRun = asNobody.status === 0;
const testAsNobody = nobodyCanRun ? test : test.skip;

testAsNobody(`an unreadable manifest or image definition is "permission denied", for validate, build and init${nobodyCanRun ? '' : ' (skipped: uid 65534 cannot run the CLI here)'}`, async (t) => {
  const dir = tempDir(t);
  chmodSync(dir, 0o755);
  const manifest = join(dir, 'manifest.yaml');
  const image = join(dir, 'image.yaml');
  writeFileSync(manifest, 'version: 1\nservices: {}\n', { mode: 0o600 });
  writeFileSync(image, 'image: { name: x }\n', { mode: 0o600 });
  const validate = await berth(['validate', manifest], { uid: 65534 });
  t.is(validate.code, 1);
  t.is(validate.stdout.split('\n')[0], `${manifest}:1:1: (file): permission denied: cannot read the file`);
  const build = await berth(['build', image, '-o', join(tmpdir(), `berth-never-${process.pid}`)], { uid: 65534 });
  t.is(build.code, 1);
  t.regex(build.stderr, /image\.yaml:1:1: \(file\): permission denied: cannot read the file\n/);
  const init = await berth(['init', join(tmpdir(), `berth-never-state-${process.pid}`), '--manifest', manifest], { uid: 65534 });
  t.is(init.code, 2);
  t.regex(init.stderr, /permission denied: cannot read the file\n[^]*nothing was started/);
});

test('files above the size limits are refused with the limit in the message', async (t) => {
  const dir = tempDir(t);
  const manifest = join(dir, 'big.json');
  const image = join(dir, 'big.yaml');
  writeFileSync(manifest, Buffer.alloc(MAX_MANIFEST_BYTES + 1, 0x20));
  writeFileSync(image, Buffer.alloc(MAX_DEFINITION_BYTES + 1, 0x20));
  const run = await berth(['validate', manifest]);
  t.is(run.code, 1);
  t.is(run.stdout.split('\n')[0], `${manifest}:1:1: (file): the file is 16.0 MiB; a manifest is at most 16 MiB — is it the right file?`);
  const build = await berth(['build', image, '-o', join(dir, 'out')]);
  t.is(build.code, 1);
  t.regex(build.stderr, /big\.yaml:1:1: \(file\): the file is 4\.0 MiB; an image definition is at most 4 MiB — is it the right file\?\n/);
  // At the limit the size is fine: what is said is about the content.
  writeFileSync(manifest, Buffer.alloc(MAX_MANIFEST_BYTES, 0x20));
  t.regex((await berth(['validate', manifest])).stdout, /the file is empty/);
});

/** `version: 1` and `services` holding `levels - 1` nested lists: `levels` collections in all, with the root mapping. */
function nestedYaml(levels: number, open = '[', close = ']'): string {
  return `version: 1\nservices: ${open.repeat(levels - 1)}${close.repeat(levels - 1)}\n`;
}

function nestedJson(levels: number): string {
  return `{"version": 1, "services": ${'{"a": '.repeat(levels - 1)}1${'}'.repeat(levels - 1)}}`;
}

test(`nesting deeper than ${MAX_NESTING} levels is one located problem, for YAML and JSON, however deep`, async (t) => {
  const dir = tempDir(t);
  const files: [string, string][] = [
    ['flow.yaml', nestedYaml(MAX_NESTING + 1)],
    ['maps.yaml', nestedYaml(MAX_NESTING + 1, '{a: ', '}')],
    ['block.yaml', `version: 1\nservices:\n  ${'- '.repeat(MAX_NESTING)}x\n`],
    ['deep.yaml', nestedYaml(100_000)],
    ['deep.json', nestedJson(100_000)],
    ['open.json', `{"services": ${'['.repeat(100_000)}`],
  ];
  for (const [name, text] of files) writeFileSync(join(dir, name), text);
  const run = await berth(['validate', ...files.map(([name]) => join(dir, name))]);
  t.is(run.code, 1, run.stderr);
  t.is(run.stderr, '');
  const message = `(file): lists and mappings are nested more than ${MAX_NESTING} levels deep; Berth reads at most ${MAX_NESTING}`;
  t.deepEqual(run.stdout.split('\n'), [
    `${dir}/flow.yaml:2:74: ${message}`,
    `${dir}/maps.yaml:2:263: ${message}`,
    `${dir}/block.yaml:3:129: ${message}`,
    `${dir}/deep.yaml:2:74: ${message}`,
    `${dir}/deep.json:1:406: ${message}`,
    `${dir}/open.json:1:77: ${message}`,
    '6 problems in 6 of 6 files',
    '',
  ]);
});

test(`${MAX_NESTING} levels of nesting are read as usual`, async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'flow.yaml'), nestedYaml(MAX_NESTING));
  writeFileSync(join(dir, 'deep.json'), nestedJson(MAX_NESTING));
  const run = await berth(['validate', join(dir, 'flow.yaml'), join(dir, 'deep.json')]);
  t.is(run.code, 1);
  const lines = run.stdout.trim().split('\n');
  t.deepEqual(lines.slice(0, -1).map((line) => line.replace(/^.*\/(\w+\.\w+):/, '$1:')), [
    'flow.yaml:2:11: services: expected a mapping, got a list',
    "deep.json:1:35: services.a.a: unknown field 'a'; known fields: type, script, execStart, restartOnFailure, environment, environmentFiles, watch, environmentFromFiles, workingDirectory, user, execLogger, after, enable, tty, readiness, liveness, startTimeout, watchdog, restart, successExitCodes, stopSignal, stopTimeout, maxRestarts, restartWindow, essential, schedule, timezone, concurrency, timeout, startingDeadline, failureThreshold, resources, logging",
  ]);
});

test('berth init refuses a manifest nested too deep with exit 2 and starts nothing', async (t) => {
  const dir = tempDir(t);
  const manifest = join(dir, 'manifest.json');
  writeFileSync(manifest, nestedJson(100_000));
  const stateDir = join(dir, 'state');
  const run = await berth(['init', stateDir, '--manifest', manifest]);
  t.is(run.code, 2);
  t.regex(run.stderr, new RegExp(`manifest\\.json:1:406: \\(file\\): lists and mappings are nested more than ${MAX_NESTING} levels deep`));
  t.regex(run.stderr, /nothing was started/);
  t.false(existsSync(stateDir));
});

test('an image definition nested too deep is one located problem for validate and build', async (t) => {
  const dir = tempDir(t);
  const image = join(dir, 'image.yaml');
  writeFileSync(image, `image:\n  env: ${'{a: '.repeat(100_000)}1${'}'.repeat(100_000)}\n`);
  const validate = await berth(['validate', image]);
  t.is(validate.code, 1);
  t.is(validate.stdout, `${image}:2:${8 + 4 * (MAX_NESTING - 2)}: (file): lists and mappings are nested more than ${MAX_NESTING} levels deep; Berth reads at most ${MAX_NESTING}\n1 problem in 1 of 1 file\n`);
  const build = await berth(['build', image, '-o', join(dir, 'out')]);
  t.is(build.code, 1);
  t.regex(build.stderr, /nested more than 64 levels deep/);
  for (const line of validate.stdout.trim().split('\n').slice(0, -1)) t.regex(line, PROBLEM_LINE);
});

/** Nine levels of nine aliases each: 9^8 copies of a list if expanded. */
function aliasBomb(top: string): string {
  const levels = 'abcdefgh'.split('');
  const lines = levels.map((name, i) => `${name}: &${name} [${i === 0 ? Array(9).fill('"x"').join(', ') : Array(9).fill(`*${levels[i - 1]}`).join(', ')}]`);
  return `${top}\n${lines.join('\n')}\nservices:\n  web: { script: x, environment: *h }\n`;
}

test('an alias bomb is one problem at once, not minutes of expansion and a crash, in a manifest and in an image definition', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'manifest.yaml'), aliasBomb('version: 1'));
  writeFileSync(join(dir, 'image.yaml'), aliasBomb('image: { name: bomb }'));
  const run = await berth(['validate', join(dir, 'manifest.yaml'), join(dir, 'image.yaml')], { timeoutMs: 20_000 });
  t.is(run.code, 1, run.stderr);
  t.deepEqual(run.stdout.split('\n'), [
    `${dir}/manifest.yaml:1:1: (file): invalid YAML: Excessive alias count indicates a resource exhaustion attack`,
    `${dir}/image.yaml:1:1: (file): invalid YAML: Excessive alias count indicates a resource exhaustion attack`,
    '2 problems in 2 of 2 files',
    '',
  ]);
  t.true(run.ms < 10_000, `took ${run.ms} ms`);
});

test('a few aliases in an image definition are fine', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'image.yaml'), 'image: { name: web }\nservices:\n  a: &svc { script: "exec sleep 1" }\n  b: *svc\n');
  const run = await berth(['validate', join(dir, 'image.yaml')]);
  t.is(run.stdout, '1 file OK\n');
  t.is(run.code, 0);
});
