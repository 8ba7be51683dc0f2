// makePath: `mkdir -p` that says which level failed and why, and cannot loop
// (Node 20's recursive mkdirSync spins for ever under /proc).
import test from 'ava';
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makePath, MakePathError } from '../../src/unix/make-path.js';
import { tempDir } from '../helpers/init.js';

test('makes every missing level with the mode asked for, and is a no-op on a directory that exists', (t) => {
  const dir = tempDir();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const deep = join(dir, 'a/b/c');
  makePath(deep, 0o700);
  t.true(statSync(deep).isDirectory());
  t.is(statSync(deep).mode & 0o777, 0o700 & ~process.umask());
  t.notThrows(() => makePath(deep));
});

test('a missing parent on /proc fails at once with ENOENT at that level, never a loop', (t) => {
  const started = Date.now();
  const err = t.throws(() => makePath('/proc/berth-no-such/x/y'), { instanceOf: MakePathError }) as MakePathError;
  t.is(err.code, 'ENOENT');
  t.is(err.path, '/proc/berth-no-such');
  t.true(Date.now() - started < 1000);
});

test('a file where a directory should be is ENOTDIR, at that file', (t) => {
  const dir = tempDir();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'file'), '');
  const err = t.throws(() => makePath(join(dir, 'file/state')), { instanceOf: MakePathError }) as MakePathError;
  t.is(err.code, 'ENOTDIR');
  t.is(err.path, join(dir, 'file'), 'the level that is a file');
  mkdirSync(join(dir, 'ok'));
  writeFileSync(join(dir, 'ok/leaf'), '');
  t.is((t.throws(() => makePath(join(dir, 'ok/leaf'))) as MakePathError).code, 'ENOTDIR');
});
