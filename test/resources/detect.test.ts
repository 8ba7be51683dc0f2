// Detection from /proc/self/mountinfo and /proc/self/cgroup as a container,
// a host or a hybrid machine shows them, with a probe standing in for the
// filesystem; and, where there is one, this machine's own answer.
import test from 'ava';
import { decide, detectCgroups, enforcedBy, ownOomCounter, type Probe } from '../../src/resources/detect.js';

const V2_MOUNT = '30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate';
const v1Mount = (id: number, root: string, controllers: string): string =>
  `${id} 25 0:${id} ${root} /sys/fs/cgroup/${controllers} rw,nosuid,nodev,noexec,relatime shared:${id} - cgroup cgroup rw,${controllers}`;

const probe = (controllers: Record<string, string[]>, readOnly: string[] = []): Probe => ({
  controllers: (dir) => controllers[dir] ?? `${dir}/cgroup.controllers: ENOENT`,
  unwritable: (dir) => (readOnly.some((r) => dir.startsWith(r)) ? `${dir} is not writable (EROFS)` : undefined),
});

test('cgroup v2 in a container (cgroup namespace): its own cgroup is the mount, with what cgroup.controllers offers', (t) => {
  const got = decide(`${V2_MOUNT}\n`, '0::/\n', probe({ '/sys/fs/cgroup': ['cpuset', 'cpu', 'io', 'memory', 'pids'] }));
  t.deepEqual(got, { version: 2, dir: '/sys/fs/cgroup', controllers: ['memory', 'cpu', 'pids'], missing: [] });
});

test('cgroup v2 on a host: the own cgroup under the mount; a controller not delegated is missing, with where it was looked for', (t) => {
  const got = decide(V2_MOUNT, '0::/system.slice/app.service\n', probe({ '/sys/fs/cgroup/system.slice/app.service': ['memory', 'pids'] }));
  t.deepEqual(got, { version: 2, dir: '/sys/fs/cgroup/system.slice/app.service', controllers: ['memory', 'pids'], missing: ['cgroup v2: no cpu controller in /sys/fs/cgroup/system.slice/app.service/cgroup.controllers'] });
});

test('cgroup v1 as Docker mounts it without a cgroup namespace: the mount root is our cgroup; cpu shares a hierarchy with cpuacct', (t) => {
  const mounts = [v1Mount(31, '/docker/abc', 'memory'), v1Mount(32, '/docker/abc', 'cpu,cpuacct'), v1Mount(33, '/docker/abc', 'pids'), v1Mount(34, '/docker/abc', 'cpuset')].join('\n');
  const cgroup = '5:pids:/docker/abc\n4:cpuset:/docker/abc\n3:cpu,cpuacct:/docker/abc\n2:memory:/docker/abc\n0::/\n';
  t.deepEqual(decide(mounts, cgroup, probe({})), {
    version: 1,
    dirs: { memory: '/sys/fs/cgroup/memory', cpu: '/sys/fs/cgroup/cpu,cpuacct', pids: '/sys/fs/cgroup/pids' },
    missing: [],
  });
});

test('a hybrid machine whose v2 tree has no controllers (this kind of host) uses v1; a path with a space is unescaped', (t) => {
  const mounts = [v1Mount(31, '/', 'memory').replace('/sys/fs/cgroup/memory', '/sys/fs/cgroup/mem\\040ory'), v1Mount(33, '/', 'pids'), '40 23 0:40 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw'].join('\n');
  const got = decide(mounts, '8:pids:/\n4:memory:/a\n1:cpu:/\n0::/\n', probe({ '/sys/fs/cgroup/unified': ['hugetlb'] }));
  t.deepEqual(got, { version: 1, dirs: { memory: '/sys/fs/cgroup/mem ory/a', pids: '/sys/fs/cgroup/pids' }, missing: ['cgroup v1: no cpu hierarchy mounted'] });
});

test('read-only cgroups, or none, fall to the watcher with every reason', (t) => {
  const ro = decide(`${V2_MOUNT}\n`, '0::/\n', probe({ '/sys/fs/cgroup': ['memory'] }, ['/sys/fs/cgroup']));
  t.deepEqual(ro, { version: null, reason: 'cgroup v2: /sys/fs/cgroup is not writable (EROFS); cgroup v1: no memory hierarchy mounted; cgroup v1: no cpu hierarchy mounted; cgroup v1: no pids hierarchy mounted' });
  const none = decide('', '', probe({}));
  t.is(none.version, null);
  t.regex((none as { reason: string }).reason, /^no cgroup v2 \(no cgroup2 mount/);
  const outside = decide('30 23 0:26 /other /sys/fs/cgroup rw - cgroup2 cgroup2 rw', '0::/mine\n', probe({}));
  t.regex((outside as { reason: string }).reason, /our cgroup \/mine is outside every cgroup2 mount/);
});

test('BERTH_CGROUP=off forces the watcher', (t) => {
  t.deepEqual(detectCgroups({ BERTH_CGROUP: 'off' }), { version: null, reason: 'BERTH_CGROUP=off' });
});

test('enforcedBy: the cgroup when it has a controller for every limit set, else the watcher; null with no limits', (t) => {
  const v1 = { version: 1 as const, dirs: { memory: '/m', pids: '/p' }, missing: [] };
  t.is(enforcedBy(v1, { memory: 1 << 20, pids: 5 }), 'cgroup-v1');
  t.is(enforcedBy(v1, { cpu: 0.5 }), 'watcher');
  t.is(enforcedBy({ version: 2, dir: '/', controllers: ['memory', 'cpu', 'pids'], missing: [] }, { cpu: 1 }), 'cgroup-v2');
  t.is(enforcedBy({ version: null, reason: 'x' }, { memory: 1 }), 'watcher');
  t.is(enforcedBy(v1, {}), null);
});

test('this machine: detection never throws, and names a version or why there is none', (t) => {
  const got = detectCgroups({});
  t.log(JSON.stringify(got));
  if (got.version === null) t.true(got.reason.length > 0);
  else t.true(got.version === 1 || got.version === 2);
});

test("the OOM counter of our own memory cgroup, read-only or not: v2's memory.events, v1's memory.oom_control; none without a memory hierarchy", (t) => {
  t.is(ownOomCounter(`${V2_MOUNT}\n`, '0::/\n'), '/sys/fs/cgroup/memory.events');
  t.is(ownOomCounter(V2_MOUNT, '0::/kubepods/pod1/ctr\n'), '/sys/fs/cgroup/kubepods/pod1/ctr/memory.events');
  const v1 = [v1Mount(31, '/docker/abc', 'memory'), v1Mount(33, '/docker/abc', 'pids')].join('\n');
  t.is(ownOomCounter(v1, '5:pids:/docker/abc\n2:memory:/docker/abc\n0::/\n'), '/sys/fs/cgroup/memory/memory.oom_control');
  t.is(ownOomCounter(v1Mount(33, '/', 'pids'), '5:pids:/\n'), undefined);
});
