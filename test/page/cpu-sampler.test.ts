// CpuSampler, the init's CPU sampler for /status.json: a service's CPU is
// its share of one core since the last sample, read from /proc.
import test from 'ava';
import { spawn } from 'node:child_process';
import { CpuSampler } from '../../src/page/cpu-sampler.js';
import { sleep } from '../helpers/wait.js';

test("CPU is the share of one core since the last sample: a busy loop's is high, a sleeper's 0, and the first sample says 0", async (t) => {
  const busy = spawn('sh', ['-c', 'while :; do :; done'], { detached: true, stdio: 'ignore' });
  const idle = spawn('sleep', ['60'], { detached: true, stdio: 'ignore' });
  t.teardown(() => (busy.kill('SIGKILL'), idle.kill('SIGKILL')));
  const sampler = new CpuSampler();
  t.is(sampler.age(), Infinity);
  const first = sampler.sample([busy.pid!, idle.pid!]);
  t.is(first.get(busy.pid!)?.cpu, 0, 'no window yet');
  t.true(sampler.age() < 1000);
  await sleep(600);
  const second = sampler.sample([busy.pid!, idle.pid!]);
  // two cores shared with whatever else runs: a busy loop gets well over a tenth of one
  t.true(second.get(busy.pid!)!.cpu > 10, `busy: ${second.get(busy.pid!)!.cpu}%`);
  t.true(second.get(busy.pid!)!.cpu <= 105, `at most one core, give or take a tick: ${second.get(busy.pid!)!.cpu}%`);
  t.is(second.get(idle.pid!)?.cpu, 0);
  t.true(second.get(idle.pid!)!.memory > 0);
});
