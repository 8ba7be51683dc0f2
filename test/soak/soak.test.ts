// The soak harness (run.ts beside this file) for 60 s, so every CI run puts
// a real `berth init` as PID 1 through the driver and checks every
// invariant; longer runs are `npm run soak -- --minutes N`.
import test from 'ava';
import { join } from 'node:path';
import { root, run } from '../helpers/init.js';

test.serial('a 60-second soak of berth init as PID 1 breaks no invariant', async (t) => {
  t.timeout(120_000);
  const r = await run([process.execPath, join(root, 'dist/test/soak/run.js'), '--seconds', '60']);
  const at = r.stdout.lastIndexOf('\nsoak: ');
  t.log(r.stdout.slice(at === -1 ? 0 : at + 1).trim());
  t.is(r.code, 0, `${r.stdout.slice(-8000)}${r.stderr}`);
});
