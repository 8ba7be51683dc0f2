// The manager's cgroup v2 paths against a fake tree that keeps the kernel's
// rules (test/helpers/fake-cgroupfs.ts): this machine's memory, cpu and pids
// controllers are bound to v1, so no real v2 tree can have them. What a real
// kernel does with the same writes is in test/resources/cgroups.test.ts.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openCgroups } from '../../src/resources/cgroups.js';
import { FakeCgroupTree } from '../helpers/fake-cgroupfs.js';

const ALL = ['memory', 'cpu', 'pids'] as const;

function tree(t: { teardown(fn: () => void): void }, pids = [1, 40]): FakeCgroupTree {
  const fake = new FakeCgroupTree(['cpuset', ...ALL], pids);
  t.teardown(() => fake.cleanup());
  return fake;
}

test('v2: the init and whatever shares its cgroup move into OWN/init, then memory, cpu and pids are enabled for the children', (t) => {
  const fake = tree(t);
  const opened = openCgroups({ version: 2, dir: fake.root, controllers: [...ALL], missing: [] }, { fs: fake });
  t.true(opened.ok, JSON.stringify(opened));
  t.is(readFileSync(join(fake.root, 'cgroup.procs'), 'latin1'), '');
  t.is(readFileSync(join(fake.root, 'init/cgroup.procs'), 'latin1'), '1\n40\n');
  t.is(readFileSync(join(fake.root, 'cgroup.subtree_control'), 'latin1'), 'memory cpu pids');
  t.is(readFileSync(join(fake.root, 'services/cgroup.subtree_control'), 'latin1'), 'memory cpu pids');
});

test('v2: a service cgroup gets memory.max, memory.oom.group=1, no swap, cpu.max "QUOTA PERIOD" and pids.max; usage and OOM kills read back', async (t) => {
  const fake = tree(t);
  const cgroups = openCgroups({ version: 2, dir: fake.root, controllers: [...ALL], missing: [] }, { fs: fake });
  if (!cgroups.ok) return t.fail(cgroups.error);
  const made = cgroups.value.make('web', { memory: 256 * 2 ** 20, cpu: 0.5, pids: 200 });
  if (!made.ok) return t.fail(made.error);
  const dir = '/services/web.service';
  t.deepEqual(fake.writes.filter(([p]) => p.startsWith(`${dir}/`)), [
    [`${dir}/memory.max`, '268435456'], [`${dir}/memory.oom.group`, '1'], [`${dir}/memory.swap.max`, '0'], [`${dir}/cpu.max`, '50000 100000'], [`${dir}/pids.max`, '200'],
  ]);
  t.deepEqual(made.value.dirs, [join(fake.root, dir)]);
  t.is(made.value.procsFds.length, 1);
  t.deepEqual(made.value.memoryBytes(), { ok: true, value: 0 });
  t.deepEqual(made.value.oomKills(), { ok: true, value: 0 });
  t.is(made.value.joinFailure(0, 16), `cannot join cgroup ${join(fake.root, dir)} before exec: EBUSY`);
  t.is(await made.value.remove(), undefined);
  t.false(fake.exists(join(fake.root, dir)));
});

test('v2: a limit not set is "max"; a tiny cpu gets the least quota the kernel takes (1 ms)', (t) => {
  const fake = tree(t);
  const cgroups = openCgroups({ version: 2, dir: fake.root, controllers: [...ALL], missing: [] }, { fs: fake });
  if (!cgroups.ok) return t.fail(cgroups.error);
  t.true(cgroups.value.make('a', { cpu: 0.001 }).ok);
  t.deepEqual(fake.writes.filter(([p]) => p.startsWith('/services/a.service/')).map(([p, v]) => `${p.split('/').pop()}=${v}`), ['memory.max=max', 'memory.oom.group=1', 'memory.swap.max=max', 'cpu.max=1000 100000', 'pids.max=max']);
});

test('v2: only the controllers offered are enabled and written', (t) => {
  const fake = new FakeCgroupTree(['pids'], [1]);
  t.teardown(() => fake.cleanup());
  const cgroups = openCgroups({ version: 2, dir: fake.root, controllers: ['pids'], missing: [] }, { fs: fake });
  if (!cgroups.ok) return t.fail(cgroups.error);
  t.true(cgroups.value.make('a', { pids: 3 }).ok);
  t.deepEqual(fake.writes.filter(([p]) => !p.endsWith('cgroup.procs')), [['/cgroup.subtree_control', '+pids'], ['/services/cgroup.subtree_control', '+pids'], ['/services/a.service/pids.max', '3']]);
});

test('every refusal is a message naming the path and the errno, never an exception', (t) => {
  const fake = tree(t);
  fake.refusals.set(join(fake.root, 'cgroup.subtree_control'), 'EACCES');
  const refused = openCgroups({ version: 2, dir: fake.root, controllers: [...ALL], missing: [] }, { fs: fake });
  t.deepEqual(refused, { ok: false, error: `cannot touch ${join(fake.root, 'cgroup.subtree_control')}: EACCES` });
  fake.refusals.clear();
  const cgroups = openCgroups({ version: 2, dir: fake.root, controllers: [...ALL], missing: [] }, { fs: fake });
  if (!cgroups.ok) return t.fail(cgroups.error);
  fake.refusals.set(join(fake.root, 'services/b.service/memory.max'), 'EINVAL');
  t.deepEqual(cgroups.value.make('b', { memory: 1 }), { ok: false, error: `cannot touch ${join(fake.root, 'services/b.service/memory.max')}: EINVAL` });
  t.deepEqual(cgroups.value.make('../x', {}), { ok: false, error: "cgroups: '../x' cannot name a directory" });
});

test('a service named like an interface file gets a directory of its own (NAME.service); a cgroup left by a dead init is taken over', (t) => {
  const fake = tree(t);
  const cgroups = openCgroups({ version: 2, dir: fake.root, controllers: [...ALL], missing: [] }, { fs: fake });
  if (!cgroups.ok) return t.fail(cgroups.error);
  t.true(cgroups.value.make('memory.max', { memory: 4096 }).ok);
  const again = openCgroups({ version: 2, dir: fake.root, controllers: [...ALL], missing: [] }, { fs: fake });
  if (!again.ok) return t.fail(again.error);
  const taken = again.value.make('memory.max', { memory: 8192 });
  t.true(taken.ok);
  t.is(readFileSync(join(fake.root, 'services/memory.max.service/memory.max'), 'latin1'), '8192');
});

test('remove: a cgroup that keeps a process is an error after the deadline that names it and its pids', async (t) => {
  const fake = tree(t);
  const cgroups = openCgroups({ version: 2, dir: fake.root, controllers: [...ALL], missing: [] }, { fs: fake });
  if (!cgroups.ok) return t.fail(cgroups.error);
  const made = cgroups.value.make('c', {});
  if (!made.ok) return t.fail(made.error);
  fake.write(join(made.value.dirs[0], 'cgroup.procs'), '77');
  const started = Date.now();
  t.is(await made.value.remove(150), `cannot touch ${made.value.dirs[0]}: EBUSY (processes still in it: 77)`);
  t.true(Date.now() - started < 1000);
  t.regex((await cgroups.value.close(50)) ?? '', /services: EBUSY/);
});
