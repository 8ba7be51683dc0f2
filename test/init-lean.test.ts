// What PID 1 keeps out of its memory: Node modules it has no use for.
import test from 'ava';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runBerth, startInit, tempDir } from './helpers/init.js';

test('with its control channel serving, the init has loaded neither node:cluster nor node:child_process', async (t) => {
  // net's Server#listen would load cluster (and child_process, dgram) to ask whether this is a cluster worker: ~0.65 MB
  const dir = tempDir();
  const hook = join(dir, 'modules.cjs');
  const list = join(dir, 'modules.txt');
  writeFileSync(hook, `process.on('exit', () => require('fs').writeFileSync(${JSON.stringify(list)}, process.moduleLoadList.join('\\n')));\n`);
  const init = startInit({ dir, manifest: { version: 1, services: { short: { script: 'sleep 1.5' } } }, env: { NODE_OPTIONS: `--require ${hook}` } });
  t.teardown(() => init.cleanup());
  await init.waitFor('short: started');
  const status = await runBerth(['status', '--json', '--state-dir', init.stateDir]);
  t.is(status.code, 0, 'the control channel answers');
  t.is((await init.exited).code, 0);
  const loaded = readFileSync(list, 'utf8').split('\n');
  t.true(loaded.includes('NativeModule net'), 'the list is the init process’s');
  t.deepEqual(loaded.filter((m) => /^NativeModule (cluster|child_process|dgram)$/.test(m)), []);
});
