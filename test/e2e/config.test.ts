// Configuration without a shell, through a real init: dotenv files (top
// level and per service, '-' for may-be-missing), FILE__NAME and
// environmentFromFiles secrets, files rendered from templates, watched
// paths (a ConfigMap's ..data swap, a renewed certificate); every
// problem before anything starts; and no secret value in anything the init
// says or writes.
import test from 'ava';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeConfigMap, updateConfigMap } from '../helpers/configmap.js';
import { berth, runBerth, sleep, startInit, tempDir, waitForRecord, waitUntil, type InitRun } from '../helpers/init.js';

const port = (): number => 20_000 + Math.floor(Math.random() * 20_000);

test('dotenv files, FILE__ secrets and environmentFromFiles reach the services, each overriding the one before as documented', async (t) => {
  const dir = tempDir();
  writeFileSync(join(dir, 'common.env'), '# shared\nGREETING=hello\nLEVEL="from the top file"\nKEEP=top\n');
  writeFileSync(join(dir, 'web.env'), "LEVEL='from the service file'\nQUOTED=\"a b\\nc\"\n");
  writeFileSync(join(dir, 'token'), 'top-secret-token\n');
  writeFileSync(join(dir, 'api_key'), 'service-secret-key\n');
  const out = join(dir, 'seen');
  const init = startInit({
    dir,
    env: { FILE__TOKEN: join(dir, 'token'), KEEP: 'from the init' },
    manifest: {
      version: 1,
      environmentFiles: [join(dir, 'common.env'), `-${join(dir, 'missing.env')}`],
      services: {
        web: {
          type: 'oneshot-pre',
          environmentFiles: [join(dir, 'web.env')],
          environment: { OWN: 'own' },
          environmentFromFiles: { API_KEY: join(dir, 'api_key') },
          script: `printf '%s|' "$GREETING" "$LEVEL" "$KEEP" "$QUOTED" "$OWN" "$TOKEN" "$API_KEY" "\${FILE__TOKEN-unset}" > ${out}`,
        },
      },
    },
  });
  t.teardown(() => init.cleanup());
  t.is((await init.exited).code, 0, init.output());
  t.is(readFileSync(out, 'utf8'), 'hello|from the service file|from the init|a b\nc|own|top-secret-token|service-secret-key|unset|');
});

test('a missing env file, an unreadable secret and an unset ${VAR:?} are all said before anything starts, exit 2', async (t) => {
  const dir = tempDir();
  const ran = join(dir, 'ran');
  const init = startInit({
    dir,
    env: { FILE__DB: join(dir, 'no-such-secret') },
    manifest: {
      version: 1,
      environmentFiles: [join(dir, 'absent.env')],
      files: { [join(dir, 'app.ini')]: { template: 'host = ${HOST:-localhost}\npassword = ${PASSWORD:?the database password is required}\n' } },
      services: { a: { environmentFromFiles: { KEY: join(dir, 'no-key') }, script: `touch ${ran}` } },
    },
  });
  t.teardown(() => init.cleanup());
  const exited = await init.exited;
  const err = init.output();
  t.is(exited.code, 2, err);
  t.regex(err, new RegExp(`environmentFiles: ${join(dir, 'absent.env')}: ENOENT.*; if it may be missing, write the path as -`));
  t.regex(err, new RegExp(`FILE__DB: ${join(dir, 'no-such-secret')}: ENOENT`));
  t.regex(err, new RegExp(`services\\.a\\.environmentFromFiles\\.KEY: ${join(dir, 'no-key')}: ENOENT`));
  t.regex(err, new RegExp(`files\\.${join(dir, 'app.ini')}: line 2: \\$\\{PASSWORD:\\?\\}: the database password is required`));
  t.regex(err, /nothing was started/);
  t.throws(() => statSync(ran), undefined, 'nothing ran');
});

test('files: rendered before the first oneshot, with defaults, $$, secrets, and the mode given (0600 by default)', async (t) => {
  const dir = tempDir();
  writeFileSync(join(dir, 'pw'), 'hunter2-secret\n');
  const ini = join(dir, 'conf', 'app.ini');
  const open = join(dir, 'conf', 'open.txt');
  const source = join(dir, 'open.tmpl');
  writeFileSync(source, 'user=${USER_NAME:-nobody} cost=$$5 raw=$HOME\n');
  const init = startInit({
    dir,
    env: { FILE__DB_PASSWORD: join(dir, 'pw') },
    manifest: {
      version: 1,
      files: {
        [ini]: { template: '[db]\nhost = ${DB_HOST:-localhost}\npassword = ${DB_PASSWORD:?the database password is required}\n' },
        [open]: { source, mode: '0644' },
      },
      services: { first: { type: 'oneshot-pre', script: `cat ${ini} > ${join(dir, 'seen')}` } },
    },
  });
  t.teardown(() => init.cleanup());
  t.is((await init.exited).code, 0, init.output());
  t.is(readFileSync(join(dir, 'seen'), 'utf8'), '[db]\nhost = localhost\npassword = hunter2-secret\n', 'written before the first oneshot ran');
  t.is(statSync(ini).mode & 0o777, 0o600);
  t.is(readFileSync(open, 'utf8'), 'user=nobody cost=$5 raw=$HOME\n');
  t.is(statSync(open).mode & 0o777, 0o644);
  t.deepEqual(readdirSync(join(dir, 'conf')).sort(), ['app.ini', 'open.txt'], 'no temp file left');
});

/** Every file under `dir`, as text. */
function allFiles(dir: string): Array<[string, string]> {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .map((p) => [p, readFileSync(p, 'latin1')]);
}

test('no secret leaves the init: every command, endpoint, line and record, with a secret that even reaches an error message', async (t) => {
  const secret = `s3cr3t-${randomBytes(12).toString('hex')}`;
  const dir = tempDir();
  writeFileSync(join(dir, 'token'), `${secret}\n`);
  // a secret PATH: the init's own "not found in PATH=…" line would show it
  writeFileSync(join(dir, 'path'), `/nonexistent/${secret}\n`);
  writeFileSync(join(dir, 'key'), `${secret}-key\n`);
  const http = port();
  const init: InitRun = startInit({
    dir,
    env: { FILE__TOKEN: join(dir, 'token'), BERTH_HTTP: `127.0.0.1:${http}`, S6_DONT_TERMINATE_ON_ERROR: '1' },
    manifest: {
      version: 1,
      files: { [join(dir, 'secret.conf')]: { template: 'token=${TOKEN}\n' } },
      services: {
        app: { environmentFromFiles: { API_KEY: join(dir, 'key') }, script: 'exec sleep infinity' },
        lost: { environmentFromFiles: { PATH: join(dir, 'path') }, execStart: ['no-such-program-here'] },
      },
    },
  });
  t.teardown(() => init.cleanup());
  await waitForRecord(init.stateDir, 'lost', (r) => r.state === 'failed');
  await waitForRecord(init.stateDir, 'app', (r) => r.state === 'up');
  const said: string[] = [];
  for (const args of [['status'], ['status', '--json'], ['plan'], ['logs', 'app'], ['check'], ['check', '--live'], ['restart', 'app'], ['stop', 'app'], ['start', 'app'], ['start', 'lost'], ['reload']]) {
    const r = await runBerth([...args, '--state-dir', init.stateDir], { env: { BERTH_MANIFEST: join(dir, 'manifest.json') } });
    said.push(`$ berth ${args.join(' ')}\n${r.stdout}${r.stderr}`);
  }
  for (const path of ['/healthz', '/readyz', '/metrics']) said.push(await (await fetch(`http://127.0.0.1:${http}${path}`)).text());
  await init.signal('SIGTERM');
  await init.exited;
  said.push(init.output());
  for (const [file, text] of allFiles(init.stateDir)) said.push(`${file}\n${text}`);
  t.regex(init.output(), /lost: could not start: program 'no-such-program-here' not found in PATH=\[secret\]/, 'the error is said, the secret in it masked');
  const leaks = said.filter((text) => text.includes(secret));
  t.deepEqual(leaks, [], 'the secret appears nowhere the init speaks or writes');
  // the one place it belongs: the file rendered for it, 0600
  t.is(readFileSync(join(dir, 'secret.conf'), 'utf8'), `token=${secret}\n`);
  t.is(statSync(join(dir, 'secret.conf')).mode & 0o777, 0o600);
});

test('berth logs masks the secret values a service printed, in its last lines and as it follows, as /logs/NAME does', async (t) => {
  const secret = `s3cr3t-${randomBytes(12).toString('hex')}`;
  const dir = tempDir();
  writeFileSync(join(dir, 'key'), `${secret}\n`);
  const init: InitRun = startInit({
    dir,
    manifest: { version: 1, services: { app: { environmentFromFiles: { API_KEY: join(dir, 'key') }, script: 'while :; do echo "key is $API_KEY"; sleep 0.2; done' } } },
  });
  t.teardown(() => init.cleanup());
  await init.waitFor(/^key is /m);
  const last = await runBerth(['logs', 'app', '-n', '1', '--state-dir', init.stateDir]);
  t.is(last.stdout, 'key is [secret]\n');
  const follow = spawn(berth[0], [...berth.slice(1), 'logs', 'app', '-n', '0', '-f', '--state-dir', init.stateDir], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => follow.kill('SIGKILL'));
  let followed = '';
  follow.stdout.on('data', (d) => (followed += d));
  await waitUntil('berth logs -f has two lines', () => followed.split('\n').length > 2, { timeoutMs: 10_000 });
  t.deepEqual(followed.split('\n').slice(0, 2), ['key is [secret]', 'key is [secret]']);
  // the service's own output to the init's stdout is the service's: relayed as it wrote it
  t.true(init.output().includes(`key is ${secret}`));
});

test('berth reload reads the env files again: a service whose values changed is restarted with them, the others are left alone', async (t) => {
  const dir = tempDir();
  const envFile = join(dir, 'app.env');
  writeFileSync(envFile, 'LEVEL=one\n');
  const init = startInit({
    dir,
    manifest: {
      version: 1,
      services: {
        app: { environmentFiles: [envFile], script: `echo "$LEVEL" >> ${join(dir, 'levels')}; exec sleep infinity` },
        other: { script: 'exec sleep infinity' },
      },
    },
  });
  t.teardown(() => init.cleanup());
  const other = await waitForRecord(init.stateDir, 'other', (r) => r.state === 'up');
  await waitForRecord(init.stateDir, 'app', (r) => r.state === 'up');
  writeFileSync(envFile, 'LEVEL=two\n');
  const r = await runBerth(['reload', '--state-dir', init.stateDir]);
  t.is(r.code, 0, r.stdout + r.stderr);
  await init.waitFor(/reloading .*: 0 removed, 1 changed, 0 added/);
  await waitForRecord(init.stateDir, 'app', (rec) => rec.state === 'up' && readFileSync(join(dir, 'levels'), 'utf8') === 'one\ntwo\n');
  t.is((await waitForRecord(init.stateDir, 'other', () => true)).pid, other.pid, 'the other service kept running');
});

test('watch: each ConfigMap update sends a real process exactly one SIGHUP; a renewed certificate restarts its service once', async (t) => {
  const dir = tempDir();
  const cm = join(dir, 'configmap');
  makeConfigMap(cm, { 'app.conf': 'v1\n' });
  const certs = join(dir, 'certs');
  mkdirSync(certs);
  writeFileSync(join(certs, 'tls.crt'), 'cert 1\n');
  const hups = join(dir, 'hups');
  const starts = join(dir, 'starts');
  const init = startInit({
    dir,
    manifest: {
      version: 1,
      services: {
        reader: { watch: { paths: [cm], signal: 'HUP' }, script: `trap 'echo hup >> ${hups}' HUP; echo ready > ${hups}.up; while :; do sleep 0.1; done` },
        tls: { watch: { paths: [join(certs, 'tls.crt')], action: 'restart' }, script: `echo start >> ${starts}; exec sleep infinity` },
      },
    },
  });
  t.teardown(() => init.cleanup());
  await waitForRecord(init.stateDir, 'reader', (r) => r.state === 'up');
  const tls = await waitForRecord(init.stateDir, 'tls', (r) => r.state === 'up');
  await waitUntil('reader trapped HUP', () => existsSync(`${hups}.up`), { timeoutMs: 10_000, everyMs: 50 });
  const lines = (file: string): number => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).length : 0);
  for (let n = 1; n <= 3; n++) {
    updateConfigMap(cm, { 'app.conf': `v${n + 1}\n` });
    await waitUntil(`HUP #${n}`, () => lines(hups) >= n, { timeoutMs: 10_000, everyMs: 50 });
    await sleep(800); // a second HUP for the same update would come within the debounce
    t.is(lines(hups), n, `exactly one HUP for update ${n}`);
  }
  t.regex(init.output(), new RegExp(`reader: ${cm} changed: sending SIGHUP`));
  // a renewer writes the new certificate beside it and renames it over
  writeFileSync(join(certs, '.tls.crt.new'), 'cert 2\n');
  renameSync(join(certs, '.tls.crt.new'), join(certs, 'tls.crt'));
  await waitUntil('tls restarted', () => lines(starts) >= 2, { timeoutMs: 10_000, everyMs: 50 });
  await sleep(800);
  t.is(lines(starts), 2, 'restarted once');
  const after = await waitForRecord(init.stateDir, 'tls', (r) => r.state === 'up');
  t.not(after.pid, tls.pid);
  t.regex(init.output(), /tls: .*tls\.crt changed: restarting it/);
});
