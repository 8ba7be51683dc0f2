// The test helpers' own promise: an init a test started does not outlive the
// test's process, even when the test never gets to clean up (an ava timeout,
// a crash). A node process starts an init through startInit and is killed.
import test from 'ava';
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive, root, tempDir, waitUntil } from './init.js';

test('an init started by startInit dies with the process that started it, and its service with it', async (t) => {
  const dir = tempDir();
  const started: number[] = [];
  t.teardown(() => {
    for (const pid of started) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone, as it should be
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });
  const helper = join(root, 'dist/test/helpers/init.js');
  const script = `
    const { startInit } = await import(${JSON.stringify(helper)});
    const run = startInit({ dir: ${JSON.stringify(dir)}, manifest: { version: 1, services: { idle: { script: 'exec sleep 600' } } } });
    await run.waitFor(/idle: started \\(pid (\\d+)\\)/);
    console.log(JSON.stringify({ init: run.proc.pid, service: Number(/idle: started \\(pid (\\d+)\\)/.exec(run.output())[1]) }));
    setInterval(() => {}, 1000);`;
  const parent = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  parent.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const { init, service } = JSON.parse(await waitUntil('the init and its service started', () => out.split('\n')[0] || undefined, { timeoutMs: 15_000 })) as { init: number; service: number };
  started.push(init, service);
  t.true(isAlive(init) && isAlive(service), 'both running before');
  parent.kill('SIGKILL');
  await waitUntil('the init gone', () => !isAlive(init) || undefined, { timeoutMs: 10_000 });
  await waitUntil('its service gone', () => !isAlive(service) || undefined, { timeoutMs: 10_000 });
  t.false(isAlive(init));
  t.false(isAlive(service));
});
