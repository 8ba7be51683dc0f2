// Real daemons under `berth init`, as the postgresql and redis modules define
// them (the manifest an image would get, with the test's own data directory
// and port): Debian's postgres and redis-server say they are ready through
// the notification protocol, a client that starts at that moment connects,
// a SIGKILLed postgres is restarted with its data, and SIGTERM stops both
// cleanly.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { evaluateImage } from '../../src/image/evaluate.js';
import { readRecord, startInit, tempDir, waitForRecord, waitUntil } from '../helpers/init.js';

const POSTGRES = '/usr/lib/postgresql/15/bin/postgres';
const REDIS = '/usr/bin/redis-server';
const root = process.getuid?.() === 0;
// a port of the test's own: the pid keeps parallel runs apart
const port = (base: number): number => base + (process.pid % 500);

/** The manifest `berth build` would write for `definition`, with each /etc file the modules wrote put under `dir`. */
/** A temp dir the servers' own users can enter (mkdtemp makes it 0700). */
function serverDir(): string {
  const dir = tempDir();
  chmodSync(dir, 0o755);
  return dir;
}

function manifestOf(dir: string, definition: string): { services: Record<string, Record<string, unknown>> } {
  const file = join(dir, 'image.yaml');
  writeFileSync(file, definition);
  const evaluation = evaluateImage(file);
  if (!evaluation.build) throw new Error(`the definition does not evaluate: ${JSON.stringify(evaluation.problems)}`);
  const manifest = JSON.parse(JSON.stringify(evaluation.build.manifest)) as { services: Record<string, Record<string, unknown>> };
  let text = JSON.stringify(manifest);
  for (const etc of evaluation.build.etc) {
    const path = join(dir, 'etc', etc.target);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, etc.content);
    text = text.replaceAll(`/etc/${etc.target}`, path);
  }
  return JSON.parse(text) as typeof manifest;
}

const skip = !root ? 'needs root (the modules run the servers as postgres and redis)'
  : !existsSync(POSTGRES) ? `no ${POSTGRES} (apt-get install postgresql-15)`
  : undefined;

if (skip) {
  test('postgresql under berth init (skipped)', (t) => {
    t.log(skip);
    t.pass();
  });
} else {
  test.serial('postgresql: ready by notification, a client at that moment connects with its password; SIGKILL restarts it with its data; SIGTERM shuts it down cleanly', async (t) => {
    t.timeout(180_000);
    const dir = serverDir();
    const pg = port(25432);
    const password = `pw-${Math.random().toString(36).slice(2)}`;
    writeFileSync(join(dir, 'app_password'), `${password}\n`);
    mkdirSync(join(dir, 'data'));
    const manifest = manifestOf(dir, `services:
  postgresql:
    enable: true
    port: ${pg}
    dataDir: ${dir}/data/pg
    databases: [app]
    users:
      app: { passwordFile: ${dir}/app_password }
`);
    // starts once postgresql is ready: one try, no retry loop
    manifest.services.client = {
      type: 'oneshot-post',
      after: ['postgresql-provision'],
      environment: { PGPASSWORD: password },
      script: `psql -X -h 127.0.0.1 -p ${pg} -U app -d app -v ON_ERROR_STOP=1 -c 'CREATE TABLE IF NOT EXISTS kept (v text)' -c "INSERT INTO kept VALUES ('before the kill')" -c 'SELECT count(*) AS rows FROM kept' && echo client: connected`,
    };
    manifest.services.early = {
      type: 'oneshot-post',
      after: ['postgresql'],
      script: `pg_isready -h 127.0.0.1 -p ${pg} && echo early: accepting at the ready moment`,
    };
    const init = startInit({ dir, manifest });
    t.teardown(() => init.cleanup());
    await init.waitFor(/client: connected/, 120_000);
    await init.waitFor(/early: (accepting at the ready moment|exited with code [1-9])/, 30_000);
    t.regex(init.output(), /early: accepting at the ready moment/);
    t.regex(init.output(), /postgresql: 1 user and 1 database in place/);
    t.false(init.output().includes(password), 'the password shows nowhere in the init\'s output');

    const first = await waitForRecord(init.stateDir, 'postgresql', (r) => typeof r.pid === 'number');
    process.kill(first.pid as number, 'SIGKILL');
    // the killed postmaster's backends may still hold its shared memory for a moment: a start in that moment exits
    // (code 1) and the restart policy tries again, as seen on a busy CI; the data is what matters
    await waitForRecord(init.stateDir, 'postgresql', (r) => (r.restarts as number) >= 1 && r.ready === true && r.pid !== first.pid, 60_000);
    const after = spawnSync('psql', ['-X', '-tA', '-h', '127.0.0.1', '-p', String(pg), '-U', 'app', '-d', 'app', '-c', 'SELECT v FROM kept'], { env: { ...process.env, PGPASSWORD: password }, encoding: 'utf8' });
    t.is(after.stdout.trim(), 'before the kill', after.stderr);

    await init.signal('SIGTERM');
    await init.exited;
    t.regex(init.output(), /database system is shut down/);
    t.is(readRecord(init.stateDir, 'postgresql')?.state, 'stopped');

    // a second start after that clean stop needs no recovery
    const again = startInit({ dir: tempDir(), manifest });
    t.teardown(() => again.cleanup());
    await again.waitFor(/client: connected/, 120_000);
    t.notRegex(again.output(), /not properly shut down|automatic recovery/);
    await again.signal('SIGTERM');
    await again.exited;
  });
}

const skipRedis = !root ? 'needs root (the module runs the server as redis)' : !existsSync(REDIS) ? `no ${REDIS} (apt-get install redis-server)` : undefined;

if (skipRedis) {
  test('redis under berth init (skipped)', (t) => {
    t.log(skipRedis);
    t.pass();
  });
} else {
  test.serial('redis: ready by notification (supervised systemd), a client at that moment gets PONG; SIGTERM saves and exits', async (t) => {
    t.timeout(120_000);
    const dir = serverDir();
    const rp = port(26379);
    const manifest = manifestOf(dir, `services:\n  redis: { enable: true, port: ${rp}, dataDir: ${dir}/redis, maxmemory: 32mb }\n`);
    manifest.services.client = { type: 'oneshot-post', after: ['redis'], script: `redis-cli -p ${rp} ping && redis-cli -p ${rp} set kept yes` };
    const init = startInit({ dir, manifest });
    t.teardown(() => init.cleanup());
    await init.waitFor(/client: exited with code 0|client: .*code [1-9]/, 60_000);
    t.regex(init.output(), /PONG/);
    t.regex(init.output(), /client: exited with code 0/);
    await waitUntil('redis is ready', () => readRecord(init.stateDir, 'redis')?.ready === true, { timeoutMs: 5000 });
    await init.signal('SIGTERM');
    await init.exited;
    t.regex(init.output(), /ready to exit, bye bye/);
    t.true(existsSync(join(dir, 'redis', 'dump.rdb')), 'the snapshot was written at the stop');
    t.truthy(readFileSync(join(dir, 'redis', 'dump.rdb')).length);
  });
}
