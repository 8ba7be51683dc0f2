import test from 'ava';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Launcher } from '../../src/launch/launcher.js';
import { RunSignal } from '../../src/launch/run-signal.js';
import { checkManifest, type Service } from '../../src/manifest/index.js';
import { decodeWaitStatus, loadNative } from '../../src/pid1/index.js';
import { sleep } from '../helpers/wait.js';

/** A job that writes its $GREETING into `out`, and a launcher whose environment says `greeting`. */
function setUp(t: { teardown: (fn: () => void) => void }, greeting: string): { launcher: Launcher; job: Service; out: string } {
  const dir = mkdtempSync(join(tmpdir(), 'berth-launcher-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'out');
  const checked = checkManifest({ version: 1, services: { job: { type: 'scheduled', schedule: '@yearly', script: `echo "$GREETING" > ${out}`, logging: { format: 'passthrough' } } } }, 'manifest.json');
  if (!checked.manifest) throw new Error(JSON.stringify(checked.problems));
  const services = Object.values(checked.manifest.services);
  const launcher = new Launcher({ env: { PATH: '/usr/bin:/bin', GREETING: greeting }, users: new Map(), services });
  return { launcher, job: services[0], out };
}

/** Runs the job once; its exit is waited for here (an ava worker has no reaper, which would need SIGCHLD). */
async function run(launcher: Launcher, job: Service): Promise<void> {
  const { pid } = launcher.spawn(job, new RunSignal());
  if (pid === undefined) throw new Error('the job did not start');
  const status = new Int32Array(1);
  while (loadNative().waitNoHang(pid, status) === 0) await sleep(20);
  const exit = decodeWaitStatus(status[0]);
  if (exit.code !== 0) throw new Error(`the job exited ${JSON.stringify(exit)}`);
}

test('a run made ahead (a job due soon) runs as made', async (t) => {
  const { launcher, job, out } = setUp(t, 'hello');
  launcher.prepare(job);
  await run(launcher, job);
  t.is(readFileSync(out, 'utf8'), 'hello\n');
});

test('a run made ahead is made again when a reload brought another environment before it started', async (t) => {
  const { launcher, job, out } = setUp(t, 'before');
  launcher.prepare(job);
  launcher.renew(new Map(), [], { base: { PATH: '/usr/bin:/bin', GREETING: 'after' }, perService: new Map() });
  await run(launcher, job);
  t.is(readFileSync(out, 'utf8'), 'after\n');
  // made ahead once, used once: the next run is made at its start
  launcher.renew(new Map(), [], { base: { PATH: '/usr/bin:/bin', GREETING: 'again' }, perService: new Map() });
  await run(launcher, job);
  t.is(readFileSync(out, 'utf8'), 'again\n');
});
