// What the init defers past its first spawn (its stdout, node:net, the control
// channel) and the bundle main.js loads `berth init` from.
import test from 'ava';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { berthBin, startInit, tempDir } from '../helpers/init.js';

test('a passthrough service writing faster than stdout is read loses nothing: the init opens stdout before it spawns', async (t) => {
  // opened after the spawn, Node would set O_NONBLOCK on the stdout the service shares, and seq would die on EAGAIN
  const init = startInit({ manifest: { version: 1, services: { fast: { script: 'seq 1 300000', logging: { format: 'passthrough' } } } } });
  t.teardown(() => init.cleanup());
  t.is((await init.exited).code, 0, init.output().slice(-500));
  t.regex(init.output(), /^300000$/m);
  t.notRegex(init.output(), /write error/);
});

test('without its bundle, berth init says what is missing and how to build it', async (t) => {
  const dir = tempDir();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const cli = join(dir, 'dist/src/cli');
  mkdirSync(cli, { recursive: true });
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
  for (const f of ['main.js', 'args.js', 'run.js']) copyFileSync(join(berthBin, '..', f), join(cli, f));
  const err = await promisify(execFile)(process.execPath, [join(cli, 'main.js'), 'init', join(dir, 'state')]).catch((e: { code: number; stderr: string }) => e);
  t.like(err, { code: 70 });
  t.regex((err as { stderr: string }).stderr, /init\.bundle\.cjs is missing: build it with `npm run build`/);
});
