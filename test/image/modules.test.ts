// The postgresql and redis service modules, mounted NixOS style on the
// service of their name (`services.postgresql.port`): what they define, how
// a user's own fields merge with theirs, options on a service whose module is
// off, and the reference (`berth options`) listing their options once.
import test from 'ava';
import { berth, evaluate } from '../fixtures/image/helpers.js';

test('services.postgresql: the package, a data volume, setup and initdb before it, the server as postgres with notify readiness and SIGINT, provisioning after it', async (t) => {
  const { build, problems } = await evaluate(t, {
    'image.yaml': `services:
  postgresql:
    enable: true
    port: 5433
    databases: [app]
    users:
      app: { passwordFile: /run/secrets/app_password }
      reporter: {}
`,
  });
  t.deepEqual(problems, []);
  const s = build!.manifest.services;
  t.deepEqual(build!.packages, ['postgresql-15']);
  t.deepEqual(build!.config.image.volumes, ['/var/lib/postgresql/data']);
  t.deepEqual(Object.keys(build!.config.image.exposedPorts), ['5433/tcp']);
  t.is(s['postgresql-setup'].type, 'oneshot-pre');
  t.deepEqual(s['postgresql-initdb'].after, ['postgresql-setup']);
  t.is(s['postgresql-initdb'].user, 'postgres');
  t.regex(s['postgresql-initdb'].script as string, /\[ -s \/var\/lib\/postgresql\/data\/PG_VERSION \] \|\| exec \/usr\/lib\/postgresql\/15\/bin\/initdb/);
  const pg = s.postgresql;
  t.is(pg.user, 'postgres');
  t.deepEqual(pg.readiness, { notify: true });
  t.is(pg.stopSignal, 'SIGINT');
  t.true((pg.execStart as string[]).includes('port=5433'));
  for (const key of ['enable', 'port', 'databases', 'users', 'dataDir', 'version', 'listenAddresses']) {
    if (key !== 'enable') t.false(key in pg, `the module's ${key} is not a service field`);
  }
  const provision = s['postgresql-provision'];
  t.is(provision.type, 'oneshot-post');
  t.deepEqual(provision.after, ['postgresql']);
  t.deepEqual(provision.environmentFromFiles, { BERTH_PG_PASSWORD_APP: '/run/secrets/app_password' });
  t.regex(provision.script as string, /\\getenv pw BERTH_PG_PASSWORD_APP/);
  t.notRegex(provision.script as string, /-v pw=/, 'no password on a command line');
  t.regex(provision.script as string, /CREATE DATABASE %I/);
  // the password file is a secret path: --kube mounts it, the image never holds it
  t.deepEqual(build!.secrets.map((x) => x.path), ['/run/secrets/app_password']);
});

test("a user's own fields on services.postgresql merge with the module's: a plain value wins over its defaults", async (t) => {
  const { build, problems } = await evaluate(t, {
    'image.yaml': 'services:\n  postgresql:\n    enable: true\n    stopTimeout: 2m\n    restartOnFailure: false\n',
  });
  t.deepEqual(problems, []);
  t.is(build!.manifest.services.postgresql.stopTimeout, '2m');
  t.is(build!.manifest.services.postgresql.restartOnFailure, false);
  t.false('postgresql-provision' in build!.manifest.services, 'nothing to provision: no task');
});

test('a module option on a service whose module is off is a problem that says how to switch it on; a plain service of that name is just a service', async (t) => {
  const off = await evaluate(t, { 'image.yaml': 'services:\n  redis:\n    port: 6380\n    execStart: [/usr/bin/redis-server]\n' });
  t.deepEqual(off.problems, ["image.yaml:3:11: services.redis.port: 'port' is an option of the redis module, which is off: set services.redis.enable: true to use it"]);
  const plain = await evaluate(t, { 'image.yaml': 'services:\n  redis:\n    execStart: [/usr/bin/redis-server, /etc/my.conf]\n' });
  t.deepEqual(plain.problems, []);
  t.deepEqual(plain.build!.manifest.services.redis.execStart, ['/usr/bin/redis-server', '/etc/my.conf']);
  t.deepEqual(plain.build!.packages, []);
});

test('services.redis: the package, its config with supervised systemd and maxmemory, a data volume, the server as redis with notify readiness', async (t) => {
  const { build, problems } = await evaluate(t, { 'image.yaml': 'services:\n  redis: { enable: true, maxmemory: 64mb }\n' });
  t.deepEqual(problems, []);
  t.deepEqual(build!.packages, ['redis-server']);
  const conf = build!.etc.find((f) => f.target === 'redis/berth.conf')!.content.toString();
  t.regex(conf, /^port 6379$/m);
  t.regex(conf, /^supervised systemd$/m);
  t.regex(conf, /^daemonize no$/m);
  t.regex(conf, /^maxmemory 64mb$/m);
  t.regex(conf, /^dir \/var\/lib\/redis$/m);
  const r = build!.manifest.services.redis;
  t.is(r.user, 'redis');
  t.deepEqual(r.readiness, { notify: true });
  t.deepEqual(r.after, ['redis-setup']);
  t.false('maxmemory' in r);
});

test('a bad module option is refused at its line: a port out of range, a database name that is not an identifier', async (t) => {
  const { problems } = await evaluate(t, { 'image.yaml': 'services:\n  postgresql:\n    enable: true\n    databases: [My-App]\n' });
  t.is(problems.length, 1);
  t.regex(problems[0], /^image\.yaml:4:17: services\.postgresql\.databases\[0\]: .*lower-case SQL identifier/);
});

test('berth options lists each module\'s own options under services.NAME, not every service field again', async (t) => {
  const run = await berth(['options', 'services.redis.']);
  t.is(run.code, 0, run.stderr);
  t.deepEqual(run.stdout.split('\n').filter((l) => /^\S/.test(l)), ['services.redis.enable', 'services.redis.port', 'services.redis.bind', 'services.redis.maxmemory', 'services.redis.dataDir']);
});
