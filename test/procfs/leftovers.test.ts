// A laptop init that dies hard (SIGKILL, abort): its services' main processes
// die with it, and the next init on the same state dir stops what they left,
// touching nothing else. Real processes, laptop mode (not PID 1).
import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspectDeadInit } from '../../src/control/dead-init.js';
import { describeLeftovers } from '../../src/procfs/leftovers.js';
import { readStat } from '../../src/procfs/proc.js';
import { currentHost, readAutogroup } from '../../src/procfs/session-mark.js';
import { isLocked, lockFile } from '../../src/pid1/lock.js';
import { isAlive, sleep, startInit, tempDir, waitForRecord } from '../helpers/init.js';

/** Processes of session `sid` that are alive, with their command lines. */
function sessionMembers(sid: number): Array<{ pid: number; cmd: string }> {
  const out: Array<{ pid: number; cmd: string }> = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const stat = readStat(pid);
    if (!stat || stat.sid !== sid || !isAlive(pid)) continue;
    let cmd = '';
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').join(' ').trim();
    } catch {
      continue;
    }
    out.push({ pid, cmd });
  }
  return out;
}

async function until(ok: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}

// each service leaves a child and a grandchild; the marks in the sleeps find them in ps
const manifest = (tag: string): object => ({
  version: 1,
  services: {
    tree: { script: `sh -c 'sleep 3${tag}1 & sleep 3${tag}2' & sleep 3${tag}3` },
    solo: { script: `sleep 3${tag}4 & exec sleep 3${tag}5` },
  },
});

/** Starts an init, waits until both services' trees are complete; returns their main pids and sessions' members. */
async function startTrees(tag: string, env?: Record<string, string>) {
  const init = startInit({ manifest: manifest(tag), env });
  await init.waitFor('solo: started');
  await init.waitFor('tree: started');
  const mains = await Promise.all(['tree', 'solo'].map(async (name) => (await waitForRecord(init.stateDir, name, (r) => r.session != null)).pid as number));
  const complete = await until(() => {
    const all = mains.flatMap((m) => sessionMembers(m)).map((m) => m.cmd);
    return [1, 2, 3, 4, 5].every((n) => all.includes(`sleep 3${tag}${n}`));
  }, 5000);
  return { init, mains, complete, members: () => mains.flatMap((m) => sessionMembers(m)) };
}

test('a SIGKILLed init takes the main processes with it; the next init stops the leftovers, says so, and starts cleanly', async (t) => {
  const { init, mains, complete, members } = await startTrees('1');
  t.teardown(() => init.cleanup());
  t.true(complete, `the services' process trees never appeared: ${JSON.stringify(members())}`);
  const before = members();

  // gone for good only once every thread has exited: the lock's fd is shared by them all (the parent-death signals go with the first)
  const initGone = new Promise((resolve) => init.proc.once('exit', resolve));
  init.proc.kill('SIGKILL');
  await initGone;
  const mainsGone = await until(() => mains.every((pid) => !isAlive(pid)), 1000);
  t.true(mainsGone, `main processes still alive a second after the init died: ${mains.filter(isAlive).join(', ')}`);
  const left = members();
  // children and grandchildren outlive the init: only the next init can stop them
  t.true(left.length >= 4, `expected the services' children to outlive the init; alive: ${JSON.stringify(left)}`);

  const dead = inspectDeadInit(init.stateDir, isLocked);
  t.truthy(dead);
  t.true(dead!.initGone);
  t.is(dead!.initPid, init.proc.pid ?? null);
  t.is(dead!.alive, left.length);

  const next = startInit({ dir: init.dir, manifest: manifest('1') });
  t.teardown(() => next.cleanup());
  const out = await next.waitFor('solo: started');
  const line = out.split('\n').find((l) => l.includes('that the previous init of this state dir left running')) ?? '';
  t.regex(line, new RegExp(`stopped ${left.length} processes \\(.*tree: .*sleep \\(pid \\d+\\)`));
  t.regex(line, /solo: sleep \(pid \d+\)/);
  t.true(out.indexOf(line) < out.indexOf('stage long-run'), 'leftovers are stopped before anything starts');
  t.deepEqual(
    before.filter((m) => isAlive(m.pid)).map((m) => m.cmd),
    [],
    'every process of the dead init is gone',
  );
  t.is(inspectDeadInit(next.stateDir, isLocked), null, 'a live init owns the dir');
  await next.waitFor('tree: started');
  await next.signal('SIGTERM');
  t.is((await next.exited).code, 0);
  const after = inspectDeadInit(next.stateDir, isLocked);
  t.deepEqual(after && { initPid: after.initPid, alive: after.alive }, { initPid: null, alive: 0 }, 'a cleanly exited init leaves nothing alive');
});

test('an init that aborts (as on a V8 fatal error, no exit handler runs) takes the main processes with it', async (t) => {
  const dir = tempDir();
  // process.abort(): SIGABRT with no JS handler run, like V8's fatal-error path
  const hook = join(dir, 'abort-on-winch.mjs');
  writeFileSync(hook, "process.on('SIGWINCH', () => process.abort());\n");
  const init = startInit({ dir, manifest: manifest('2'), env: { NODE_OPTIONS: `--import ${hook}` } });
  t.teardown(() => init.cleanup());
  await init.waitFor('solo: started');
  await init.waitFor('tree: started');
  const mains = await Promise.all(['tree', 'solo'].map(async (name) => (await waitForRecord(init.stateDir, name, (r) => r.session != null)).pid as number));
  // 'exit', not 'close': the services' children still hold the output pipe
  const died = new Promise<NodeJS.Signals | null>((resolve) => init.proc.once('exit', (_code, signal) => resolve(signal)));
  init.proc.kill('SIGWINCH');
  t.is(await died, 'SIGABRT');
  t.true(await until(() => mains.every((pid) => !isAlive(pid)), 1000), `main processes outlived the aborted init: ${mains.filter(isAlive).join(', ')}`);
});

test('the parent-death signal survives the switch to a service\'s user (which clears it)', async (t) => {
  const init = startInit({ manifest: { version: 1, services: { low: { script: 'id -u; sleep 300', user: 'nobody' } } } });
  t.teardown(() => init.cleanup());
  await init.waitFor('low: started');
  const { pid } = await waitForRecord(init.stateDir, 'low', (r) => r.session != null);
  await init.waitFor(/^65534$/m);
  init.proc.kill('SIGKILL');
  t.true(await until(() => !isAlive(pid as number), 1000), 'the service run as nobody outlived its init');
});

/** A process of the test's own, in a session of its own (like any unrelated program that called setsid). */
function bystander(t: { teardown(fn: () => void): void }): { pid: number; start: number; autogroup: number | null } {
  const child = spawn('sleep', ['300'], { detached: true, stdio: 'ignore' });
  t.teardown(() => child.kill('SIGKILL'));
  const stat = readStat(child.pid!)!;
  return { pid: child.pid!, start: stat.start, autogroup: readAutogroup(child.pid!) };
}

test('a process that merely has a recorded session id (a recycled pid) is never signalled', async (t) => {
  const dir = tempDir();
  const stateDir = join(dir, 'state');
  mkdirSync(join(stateDir, 'services'), { recursive: true });
  writeFileSync(join(stateDir, 'lock'), '');
  writeFileSync(join(stateDir, 'init.pid'), '4242\n');
  const host = currentHost();
  const record = (name: string, session: object): void =>
    writeFileSync(join(stateDir, 'services', `${name}.json`), `${JSON.stringify({ name, type: 'long-run', state: 'up', pid: null, since: new Date().toISOString(), restarts: 0, lastExit: null, session })}\n`);
  await sleep(30); // the bystanders start at least a clock tick after anything recorded as older
  const recycled = bystander(t); // same pid as a dead session leader, but another session
  const noAutogroup = bystander(t); // a kernel without autogroups: the live leader's start time decides
  const otherBoot = bystander(t);
  const real = bystander(t); // the control: a process the marks do describe
  const ghost = { sid: recycled.pid, start: recycled.start - 5, autogroup: recycled.autogroup === null ? null : recycled.autogroup - 1, ...host };
  record('recycled', ghost);
  record('no-autogroup', { sid: noAutogroup.pid, start: noAutogroup.start - 5, autogroup: null, ...host });
  record('other-boot', { sid: otherBoot.pid, start: otherBoot.start, autogroup: otherBoot.autogroup, ...host, boot: '00000000-0000-0000-0000-000000000000' });
  record('real', { sid: real.pid, start: real.start, autogroup: real.autogroup, ...host });

  const init = startInit({ dir, manifest: { version: 1, services: { s: { script: 'sleep 60' } } } });
  t.teardown(() => init.cleanup());
  const out = await init.waitFor('s: started');
  t.regex(out, new RegExp(`stopped 1 process \\(real: sleep \\(pid ${real.pid}\\)\\)`));
  t.true(await until(() => !isAlive(real.pid), 2000), 'the recorded process is stopped');
  t.true(isAlive(recycled.pid), 'a recycled session id: another autogroup, another start');
  t.true(isAlive(noAutogroup.pid), 'without autogroups: a live leader that started at another time');
  t.true(isAlive(otherBoot.pid), 'marks from another boot');
  await init.signal('SIGTERM');
  t.is((await init.exited).code, 0);
});

test('inspectDeadInit: null for a dir never used or owned by a live init', (t) => {
  const dir = tempDir();
  t.is(inspectDeadInit(join(dir, 'nothing-here'), isLocked), null);
  mkdirSync(join(dir, 'owned'));
  t.true(lockFile(join(dir, 'owned', 'lock')));
  t.is(inspectDeadInit(join(dir, 'owned'), isLocked), null);
  mkdirSync(join(dir, 'dead'));
  writeFileSync(join(dir, 'dead', 'lock'), '');
  writeFileSync(join(dir, 'dead', 'init.pid'), '77\n');
  t.deepEqual(inspectDeadInit(join(dir, 'dead'), isLocked), { initGone: true, initPid: 77, alive: 0, leftovers: [] });
});

test('the leftovers line names the first ten and counts the rest', (t) => {
  const many = Array.from({ length: 12 }, (_, i) => ({ pid: 100 + i, start: 1, comm: 'sleep', service: i < 11 ? 'web' : 'worker' }));
  t.is(describeLeftovers(many.slice(0, 1)), '1 process (web: sleep (pid 100))');
  t.is(
    describeLeftovers(many),
    '12 processes (web: sleep (pid 100), sleep (pid 101), sleep (pid 102), sleep (pid 103), sleep (pid 104), sleep (pid 105), sleep (pid 106), sleep (pid 107), sleep (pid 108), sleep (pid 109); 2 more)',
  );
});
