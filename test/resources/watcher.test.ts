// The watcher on real process trees, each started as a service is (setsid:
// its session id is its main pid) and killed with its process group at the
// end: a tree that grows past its memory limit or forks past its pids limit
// is reported once, a daemon that left the tree but not the session counts,
// a tree under its limits is left alone, and no timer outlives the last
// watched service.
import test, { type ExecutionContext } from 'ava';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readStat } from '../../src/procfs/proc.js';
import { LimitWatcher, type Overrun } from '../../src/resources/watcher.js';
import { sleep, waitUntil } from '../helpers/wait.js';

const INTERVAL_MS = 50;
const MiB = 2 ** 20;
const node = JSON.stringify(process.execPath);

/** `sh -c script` in a session of its own; its process group is SIGKILLed at the end of the test. */
function tree(t: ExecutionContext, script: string): ChildProcess & { pid: number } {
  const child = spawn('sh', ['-c', script], { detached: true, stdio: ['pipe', 'pipe', 'inherit'] });
  t.teardown(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // gone already
    }
  });
  return child as ChildProcess & { pid: number };
}

/** The first line the tree writes to stdout. */
function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    child.stdout!.on('data', (d: Buffer) => {
      text += d;
      if (text.includes('\n')) resolve(text.slice(0, text.indexOf('\n')));
    });
    child.once('exit', () => reject(new Error(`the tree exited before a line; it wrote ${JSON.stringify(text)}`)));
  });
}

function watcher(t: ExecutionContext, intervalMs = INTERVAL_MS): { watcher: LimitWatcher; calls: Array<[string, Overrun]> } {
  const calls: Array<[string, Overrun]> = [];
  const w = new LimitWatcher((service, overrun) => calls.push([service, overrun]), { intervalMs });
  t.teardown(() => w.close());
  return { watcher: w, calls };
}

const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
const vmRss = (pid: number): number => Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'))?.[1]) * 1024;

test('a tree whose RSS grows past its memory limit is reported once, with usage over the limit', async (t) => {
  // a node grandchild, beside a sleep, that takes 128 MiB when told to
  const child = tree(t, `sleep 60 & ${node} -e "console.log(process.pid); process.stdin.once('data', () => { globalThis.kept = Buffer.alloc(128 << 20, 1) }); setInterval(() => {}, 1 << 30)"; wait`);
  const grower = Number(await firstLine(child));
  const limit = vmRss(grower) + 48 * MiB;
  const { watcher: w, calls } = watcher(t);
  w.watch('x', child.pid, { memory: limit, pids: 100 });
  await waitUntil('the first check', () => w.memoryOf('x'));
  await sleep(4 * INTERVAL_MS);
  t.deepEqual(calls, [], 'under its limit before it grows');
  child.stdin!.write('go\n');
  const [[service, overrun]] = await waitUntil('an overrun', () => calls.length > 0 && calls, { timeoutMs: 10_000, describe: () => `memory ${w.memoryOf('x')}, limit ${limit}` });
  t.is(service, 'x');
  t.is(overrun.kind, 'memory');
  t.is(overrun.limit, limit);
  t.true(overrun.usage > limit, `${overrun.usage} > ${limit}`);
  await sleep(4 * INTERVAL_MS);
  t.is(calls.length, 1, 'not again at every interval');
  t.true(w.memoryOf('x')! > limit, 'memoryOf keeps following it');
  w.watch('x', child.pid, { memory: limit });
  await waitUntil('a report after watching anew', () => calls.length === 2, { timeoutMs: 10_000 });
  t.is(calls[1][1].kind, 'memory');
});

test('a tree that forks past its pids limit is reported as pids', async (t) => {
  const child = tree(t, 'read go; for i in 1 2 3 4 5 6 7 8; do sleep 60 & done; wait');
  const { watcher: w, calls } = watcher(t);
  w.watch('x', child.pid, { pids: 5 });
  await waitUntil('the first check', () => w.memoryOf('x'));
  await sleep(4 * INTERVAL_MS);
  t.deepEqual(calls, [], 'one sh: under its limit');
  child.stdin!.write('go\n');
  const [[service, overrun]] = await waitUntil('an overrun', () => calls.length > 0 && calls, { timeoutMs: 10_000 });
  t.is(service, 'x');
  t.deepEqual({ kind: overrun.kind, limit: overrun.limit }, { kind: 'pids', limit: 5 });
  t.true(overrun.usage > 5 && overrun.usage <= 9, `sh and up to 8 sleeps: ${overrun.usage}`);
});

test('threads count as the pids controller counts them: one node process is several tasks', async (t) => {
  const child = tree(t, `exec ${node} -e "console.log(process.pid); setInterval(() => {}, 1 << 30)"`);
  await firstLine(child);
  const { watcher: w, calls } = watcher(t);
  w.watch('x', child.pid, { pids: 2 });
  const [[, overrun]] = await waitUntil('an overrun', () => calls.length > 0 && calls, { timeoutMs: 10_000 });
  t.is(overrun.kind, 'pids');
  t.true(overrun.usage > 2, `node's threads: ${overrun.usage}`);
  t.log(`one node process: ${overrun.usage} tasks`);
});

test('a daemon that left the tree but stays in the session is counted', async (t) => {
  // the subshell forks the daemon and exits: the daemon is re-parented away from the main process
  const child = tree(t, '(sleep 60 & echo $!); exec sleep 61');
  const daemon = Number(await firstLine(child));
  await waitUntil('the daemon re-parented', () => readStat(daemon)?.ppid !== child.pid && readStat(child.pid)?.comm === 'sleep');
  t.is(readStat(daemon)!.sid, child.pid);
  const { watcher: w, calls } = watcher(t);
  w.watch('x', child.pid, { pids: 1 });
  const [[, overrun]] = await waitUntil('an overrun', () => calls.length > 0 && calls, { timeoutMs: 10_000 });
  t.deepEqual(overrun, { kind: 'pids', usage: 2, limit: 1 });
  const both = vmRss(daemon) + vmRss(child.pid);
  t.true(Math.abs(w.memoryOf('x')! - both) < MiB, `${w.memoryOf('x')} against ${both}: both RSS summed`);
});

test('a tree under its limits is never reported; memoryOf is the RSS of its processes', async (t) => {
  const child = tree(t, `sleep 60 & ${node} -e "console.log(process.pid); setInterval(() => {}, 1 << 30)"; wait`);
  const nodePid = Number(await firstLine(child));
  const { watcher: w, calls } = watcher(t);
  t.is(w.memoryOf('x'), undefined, 'undefined before it is watched');
  w.watch('x', child.pid, { memory: 2 ** 40, pids: 1000, cpu: 1 });
  t.is(w.memoryOf('x'), undefined, 'undefined before the first check');
  await waitUntil('the first check', () => w.memoryOf('x'));
  await sleep(10 * INTERVAL_MS);
  t.deepEqual(calls, []);
  const memory = w.memoryOf('x')!;
  const direct = vmRss(child.pid) + vmRss(nodePid);
  // node's RSS drifts a little between its check and this read
  t.true(memory > direct - 4 * MiB && memory < direct + 16 * MiB, `${memory} against ${direct} for sh and node, without the sleep`);
});

// serial (before the others): their timers would muddle the count
test.serial('unwatch stops the checks and the timer; an idle watcher has no timer', async (t) => {
  const before = timers();
  const { watcher: w, calls } = watcher(t);
  t.is(timers(), before, 'none for a watcher with nothing watched');
  const child = tree(t, 'exec sleep 60');
  w.watch('cpu-only', child.pid, { cpu: 0.5 });
  t.is(timers(), before, 'none for cpu alone: it has no fallback');
  w.watch('x', child.pid, { pids: 10 });
  w.watch('y', child.pid, { pids: 10 });
  t.is(timers(), before + 1, 'one for all services');
  await waitUntil('the first check', () => w.memoryOf('x'));
  w.unwatch('x');
  t.is(w.memoryOf('x'), undefined);
  t.is(timers(), before + 1, 'still one while y is watched');
  w.unwatch('y');
  t.is(timers(), before, 'none once the last is unwatched');
  w.watch('x', child.pid, { pids: 0 });
  w.close();
  t.is(timers(), before, 'none after close');
  await sleep(4 * INTERVAL_MS);
  t.deepEqual(calls, [], 'nothing checked after close');
});

const watcherModule = fileURLToPath(new URL('../../src/resources/watcher.js', import.meta.url));

/**
 * Runs `body` in a node of its own (its descriptors its own: ava's workers
 * share one process), with LimitWatcher and statFiles() (how many
 * /proc/PID/stat files it holds open); its stdout, or the error it ended with.
 */
function runWithWatcher(body: string): Promise<{ error: Error | null; stdout: string }> {
  const script = `import { LimitWatcher } from ${JSON.stringify(watcherModule)};
    import { readdirSync, readlinkSync } from 'node:fs';
    const statFiles = () => readdirSync('/proc/self/fd').filter((fd) => { try { return /^\\/proc\\/\\d+\\/stat$/.test(readlinkSync('/proc/self/fd/' + fd)); } catch { return false; } }).length;
    ${body}`;
  return new Promise((resolve) => execFile(process.execPath, ['--input-type=module', '-e', script], { timeout: 10_000 }, (error, stdout) => resolve({ error, stdout })));
}

test('once the last service is unwatched no timer keeps the event loop alive (a process using it exits on its own), nor any stat file open', async (t) => {
  const out = await runWithWatcher(`
    const w = new LimitWatcher(() => {}, { intervalMs: 20 });
    w.watch('self', process.pid, { memory: 2 ** 40 });
    const poll = () => {
      if (w.memoryOf('self') === undefined) return setTimeout(poll, 5);
      const seen = { memory: w.memoryOf('self'), kept: statFiles() };
      w.unwatch('self');
      console.log(JSON.stringify({ ...seen, after: statFiles() }));
    };
    poll();`);
  t.is(out.error, null, 'exited by itself, with status 0');
  const { memory, kept, after } = JSON.parse(out.stdout) as { memory: number; kept: number; after: number };
  t.true(memory > 10 * MiB, `its own RSS: ${memory}`);
  t.true(kept > 0, 'stat files kept open between checks');
  t.is(after, 0, 'all closed with the last service');
});

test('an onOverrun that throws leaves the others watched: the next check reports them', async (t) => {
  // the throw escapes to the process, as any timer's does; the watcher goes on
  const out = await runWithWatcher(`
    let thrown = 0;
    process.on('uncaughtException', () => thrown++);
    const calls = [];
    const w = new LimitWatcher((service) => { calls.push(service); if (service === 'a') throw new Error('boom'); }, { intervalMs: 20 });
    w.watch('a', process.pid, { pids: 1 });
    w.watch('b', process.pid, { pids: 1 });
    setTimeout(() => { console.log(JSON.stringify({ calls, thrown })); w.close(); }, 1000);`);
  t.is(out.error, null);
  t.deepEqual(JSON.parse(out.stdout), { calls: ['a', 'b'], thrown: 1 });
});

test('processes that come and go by the hundred while checked often: nothing throws, nothing is reported', async (t) => {
  const child = tree(t, 'while :; do /bin/true & /bin/true; done');
  const { watcher: w, calls } = watcher(t, 1);
  w.watch('churn', child.pid, { memory: 2 ** 40, pids: 10_000 });
  w.watch('gone', 2 ** 22 + 1, { pids: 1 }); // above pid_max: never a process
  await sleep(1000);
  t.true(w.memoryOf('churn')! > 0);
  t.is(w.memoryOf('gone'), 0);
  t.deepEqual(calls, []);
});
