import test from 'ava';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type AccountsSpec, accountsSpec, applyAccounts } from '../../src/image/accounts.js';
import { berth, evaluate, tempDir } from '../fixtures/image/helpers.js';

const PASSWD = 'root:x:0:0:root:/root:/bin/bash\nwww-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\nbob:x:1000:1000:Bob:/home/bob:/bin/bash\nsvc:x:999:999::/nonexistent:/usr/sbin/nologin\n';
const GROUP = 'root:x:0:\nwww-data:x:33:\nusers:x:100:\nbob:x:1000:\nsvc:x:999:\n';
const SHADOW = 'root:*:19000:0:99999:7:::\nbob:!:19000:0:99999:7:::\n';

async function fakeRoot(t: Parameters<typeof tempDir>[0]): Promise<string> {
  const root = await tempDir(t);
  await mkdir(join(root, 'etc/skel'), { recursive: true });
  await writeFile(join(root, 'etc/passwd'), PASSWD);
  await writeFile(join(root, 'etc/group'), GROUP);
  await writeFile(join(root, 'etc/shadow'), SHADOW, { mode: 0o640 });
  await writeFile(join(root, 'etc/gshadow'), 'root:*::\nusers:*::\n', { mode: 0o640 });
  await writeFile(join(root, 'etc/skel/.profile'), '# profile\n');
  return root;
}

const read = (root: string, file: string) => readFile(join(root, 'etc', file), 'utf8');

function spec(users: AccountsSpec['users'], groups: AccountsSpec['groups'] = []): AccountsSpec {
  return { version: 1, users, groups };
}

test('the spec follows NixOS defaults: normal users in users with a home, system users in their own group', (t) => {
  const { spec: s, problems } = accountsSpec({
    alice: { isNormalUser: true, isSystemUser: false, extraGroups: ['wheel'], description: 'Alice' },
    daemon1: { isNormalUser: false, isSystemUser: true },
  }, { wheel: {} });
  t.deepEqual(problems, []);
  t.deepEqual(s.users, [
    { name: 'alice', system: false, group: 'users', extraGroups: ['wheel'], home: '/home/alice', createHome: true, shell: '/bin/bash', description: 'Alice' },
    { name: 'daemon1', system: true, group: 'daemon1', extraGroups: [], home: '/nonexistent', createHome: false, shell: '/usr/sbin/nologin', description: '' },
  ]);
  t.deepEqual(s.groups.map((g) => [g.name, g.system]), [['daemon1', true], ['users', false], ['wheel', false]]);
});

test('a user must be exactly one of normal and system', async (t) => {
  const { problems } = await evaluate(t, { 'image.yaml': 'users:\n  users:\n    x: {}\n' });
  t.deepEqual(problems, ["image.yaml:3:8: users.users.x: set exactly one of isNormalUser and isSystemUser for user 'x'"]);
});

test('apply adds users and groups, keeps existing entries, and skips ids the image already uses', async (t) => {
  const root = await fakeRoot(t);
  const { spec: s } = accountsSpec({
    alice: { isNormalUser: true, isSystemUser: false, extraGroups: ['wheel', 'www-data'], description: 'Alice' },
    bob: { isNormalUser: true, isSystemUser: false },
    worker: { isNormalUser: false, isSystemUser: true },
  }, { wheel: {} });
  const result = applyAccounts(s, root);
  t.deepEqual(result.created, ['group wheel (gid 1001)', 'group worker (gid 998)', 'user alice (uid 1001)', 'user worker (uid 998)']);
  t.deepEqual(result.kept, ['group users', 'group www-data', 'user bob']);
  t.is(await read(root, 'passwd'), `${PASSWD}alice:x:1001:100:Alice:/home/alice:/bin/bash\nworker:x:998:998::/nonexistent:/usr/sbin/nologin\n`);
  t.is(await read(root, 'group'), 'root:x:0:\nwww-data:x:33:alice\nusers:x:100:\nbob:x:1000:\nsvc:x:999:\nwheel:x:1001:alice\nworker:x:998:\n');
  t.is(await read(root, 'shadow'), `${SHADOW}alice:!:::::::\nworker:!:::::::\n`);
  t.is(await read(root, 'gshadow'), 'root:*::\nusers:*::\nwheel:!::alice\nworker:!::\n');
  const home = await stat(join(root, 'home/alice'));
  t.is(home.mode & 0o777, 0o700);
  t.is((await stat(join(root, 'home'))).mode & 0o777, 0o755);
  t.is(await readFile(join(root, 'home/alice/.profile'), 'utf8'), '# profile\n');
  if (process.getuid?.() === 0) t.is(home.uid, 1001);
  t.is((await stat(join(root, 'etc/shadow'))).mode & 0o777, 0o640, 'shadow keeps its mode');
});

test('applying twice changes nothing the second time', async (t) => {
  const root = await fakeRoot(t);
  const { spec: s } = accountsSpec({ alice: { isNormalUser: true, isSystemUser: false, extraGroups: ['wheel'] } }, {});
  applyAccounts(s, root);
  const before = await Promise.all(['passwd', 'group', 'shadow', 'gshadow'].map((f) => read(root, f)));
  const again = applyAccounts(s, root);
  t.deepEqual(again.created, []);
  t.deepEqual(await Promise.all(['passwd', 'group', 'shadow', 'gshadow'].map((f) => read(root, f))), before);
});

test('a fixed id that is taken is an error that names its owner', async (t) => {
  const root = await fakeRoot(t);
  t.throws(() => applyAccounts(spec([{ name: 'carol', uid: 1000, system: false, group: 'users', extraGroups: [], home: '/home/carol', createHome: false, shell: '/bin/sh', description: '' }]), root),
    { message: 'uid 1000 for user carol is already used by user bob' });
  t.throws(() => applyAccounts(spec([], [{ name: 'ops', gid: 33, system: false, members: [] }]), root),
    { message: 'gid 33 for group ops is already used by group www-data' });
});

test('berth apply-accounts --root applies a spec file and says what it did', async (t) => {
  const root = await fakeRoot(t);
  const file = join(root, 'accounts.json');
  await writeFile(file, JSON.stringify(spec([{ name: 'dave', system: false, group: 'users', extraGroups: [], home: '/home/dave', createHome: true, shell: '/bin/bash', description: 'Dave' }])));
  const run = await berth(['apply-accounts', file, '--root', root]);
  t.is(run.code, 0, run.stderr);
  t.is(run.stdout, 'created user dave (uid 1001)\n');
  t.regex(await read(root, 'passwd'), /^dave:x:1001:100:Dave:\/home\/dave:\/bin\/bash$/m);
  const bad = await berth(['apply-accounts', join(root, 'etc/passwd'), '--root', root]);
  t.is(bad.code, 1);
  t.regex(bad.stderr, /cannot read .*passwd/);
});
