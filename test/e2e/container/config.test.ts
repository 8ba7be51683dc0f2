// Configuration and secrets in a real container: an image definition with a
// rendered file and secret files, built with `berth build`, run as uid 1000 on
// a read-only root with a tmpfs for the rendered file and podman secrets for
// the values; nothing secret in the image, its history, the container's
// config, its logs, `berth status` or the state dir.
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { baseImage, buildImage, containerName, getEngine, release, unavailable, waitForLogs, type Engine } from './engine.js';

const thisFile = fileURLToPath(import.meta.url);
const why = unavailable();

// podman 4.3 cannot mount a secret under /run/secrets on a read-only root (its own /run/secrets mount is read-only), so /run/keys
const definition = `image:
  name: shop
  env: { FILE__DB_PASSWORD: /run/keys/db_password }
files:
  /run/shop/config.ini:
    template: |
      [db]
      password = \${DB_PASSWORD:?the database password is required}
services:
  web:
    environmentFromFiles: { API_KEY: /run/keys/api_key }
    script: |
      echo "web: config $(stat -c '%a %u' /run/shop/config.ini)"
      [ "$API_KEY" = "$(cat /run/keys/api_key)" ] && echo "web: API_KEY is the secret file's content"
      grep -qxF "password = $DB_PASSWORD" /run/shop/config.ini && echo "web: the config holds DB_PASSWORD"
      exec sleep infinity
`;

if (why) {
  test('container tier: configuration and secrets (skipped)', (t) => {
    t.log(why);
    t.pass();
  });
} else {
  const e: Engine = getEngine(thisFile);
  const secret = { db: `db-${randomBytes(12).toString('hex')}`, api: `api-${randomBytes(12).toString('hex')}` };
  let tag = '';

  test.before('berth/base and the shop image are built, and the podman secrets made', async (t) => {
    t.timeout(600_000);
    await baseImage(e, (m) => t.log(m));
    const dir = join(e.dir, 'config-shop');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'image.yaml'), definition);
    tag = 'localhost/berth-test/shop';
    const built = await buildImage(e, join(dir, 'image.yaml'), tag);
    t.log(`shop: berth build --tag in ${(built.ms / 1000).toFixed(1)} s`);
    for (const [name, value] of [['shop_db', secret.db], ['shop_api', secret.api]]) {
      writeFileSync(join(dir, name), `${value}\n`);
      const made = await e.podman(['secret', 'create', name, join(dir, name)]);
      if (made.code !== 0) throw new Error(`podman secret create ${name}: ${made.stderr}`);
    }
  });

  test.after.always('the containers and the store are removed', async () => {
    await release(thisFile);
  });

  const runShop = (name: string, extra: string[]) => e.podman([
    'run', '-d', '--name', name, '--network', 'none', '--read-only', '--user', '1000:1000',
    '--secret', 'shop_db,uid=1000,mode=0400,target=/run/keys/db_password',
    '--secret', 'shop_api,uid=1000,mode=0400,target=/run/keys/api_key',
    ...extra, tag,
  ]);

  test.serial('uid 1000, read-only root, a tmpfs for the rendered file: the service gets both secrets and a 0600 config; no surface shows them', async (t) => {
    t.timeout(120_000);
    const name = containerName('shop');
    t.teardown(() => e.podman(['rm', '--force', '--time', '0', name]).then(() => undefined));
    const started = await runShop(name, ['--mount', 'type=tmpfs,destination=/run/shop,tmpfs-mode=0700,chown=true']);
    t.is(started.code, 0, started.stderr);
    const logs = await waitForLogs(e, name, /web: the config holds DB_PASSWORD/);
    t.regex(logs, /web: config 600 1000/, logs);
    t.regex(logs, /web: API_KEY is the secret file's content/, logs);
    t.regex(logs, /web: the config holds DB_PASSWORD/, logs);

    const surfaces: Record<string, string> = { logs };
    const grab = async (label: string, args: string[]) => {
      const r = await e.podman(args);
      t.is(r.code, 0, `${label}: ${r.stderr}`);
      surfaces[label] = r.stdout + r.stderr;
    };
    await grab('berth status --json', ['exec', name, 'berth', 'status', '--json']);
    await grab('berth plan', ['exec', name, 'berth', 'plan']);
    await grab('the state dir', ['exec', name, 'sh', '-c', 'for d in /run/berth /tmp/berth-1000 /dev/shm/berth-1000; do [ -d "$d" ] && grep -r . "$d" --exclude-dir=sock; done; true']);
    await grab('podman inspect (container)', ['inspect', name]);
    await grab('podman image inspect', ['image', 'inspect', tag]);
    await grab('podman history', ['history', '--no-trunc', tag]);
    await grab('the image manifest', ['run', '--rm', '--network', 'none', '--entrypoint', 'cat', tag, '/etc/berth/manifest.json']);
    t.true(surfaces['the state dir'].length > 0, 'the state dir was read');
    for (const [label, text] of Object.entries(surfaces)) {
      t.false(text.includes(secret.db) || text.includes(secret.api), `${label} shows a secret:\n${text}`);
    }
    const config = await e.podman(['exec', name, 'cat', '/run/shop/config.ini']);
    t.is(config.stdout, `[db]\npassword = ${secret.db}\n`, 'the rendered file holds it, for the service');
  });

  test.serial('without the tmpfs the init stops before anything starts, naming the path that needs one (exit 2)', async (t) => {
    t.timeout(120_000);
    const name = containerName('shop-notmpfs');
    t.teardown(() => e.podman(['rm', '--force', '--time', '0', name]).then(() => undefined));
    const started = await runShop(name, []);
    t.is(started.code, 0, started.stderr);
    const wait = await e.podman(['wait', name], { timeoutMs: 60_000 });
    t.is(wait.stdout.trim(), '2');
    const logs = (await e.podman(['logs', name])).stderr + (await e.podman(['logs', name])).stdout;
    t.regex(logs, /files\.\/run\/shop\/config\.ini: cannot write it: uid 1000 may not write in \/run\/shop \(EACCES\); mount a tmpfs it can write \(Kubernetes: an emptyDir\) on \/run\/shop/, logs);
    t.notRegex(logs, /web:/, 'nothing started');
  });
}
