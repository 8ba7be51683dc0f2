// StatFiles, the limit watcher's /proc/PID/stat files kept open between
// passes: a kept file reads what a fresh open does, and nothing once its
// process is gone (whether its files are closed is seen in a process of its
// own, test/resources/watcher.test.ts: ava's workers share this one's).
import test from 'ava';
import { spawn } from 'node:child_process';
import { readStat, StatFiles } from '../../src/procfs/proc.js';
import { serviceProcesses } from '../../src/procfs/stats.js';

test('a kept file reads what a fresh open reads, and nothing once its process is gone', async (t) => {
  const child = spawn('sleep', ['60'], { detached: true, stdio: 'ignore' });
  t.teardown(() => child.kill('SIGKILL'));
  const pid = child.pid!;
  // asleep in sleep(1), not still being exec'd: its RSS moved between two reads on a busy CI
  for (let i = 0; i < 200 && !(readStat(pid)?.state === 'S' && readStat(pid)?.comm === 'sleep'); i++) await new Promise((r) => setTimeout(r, 10));
  const files = new StatFiles();
  t.teardown(() => files.close());
  for (let read = 0; read < 2; read++) t.deepEqual(files.read(pid), readStat(pid), `read ${read}`);
  t.deepEqual(serviceProcesses([pid], files).get(pid), serviceProcesses([pid]).get(pid), 'a pass with kept files finds what a fresh pass finds');
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
  t.is(files.read(pid), undefined, 'not the stat of a process that is gone');
  t.deepEqual(serviceProcesses([pid], files).get(pid), []);
});
