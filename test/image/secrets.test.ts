// Secret files in image definitions: `files:` and `environmentFiles` reach the
// manifest; `berth build --kube` mounts the secret files from one Secret,
// read-only, mode 0400; a definition that would build a secret's value into
// the image is refused at the line that declares the secret.
import test from 'ava';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import { berth, evaluate, writeFiles } from '../fixtures/image/helpers.js';

const shop = `image:
  name: shop
  env: { FILE__DB_PASSWORD: /run/secrets/db_password }
environmentFiles: [-/etc/shop/common.env]
files:
  /run/shop/config.ini:
    template: |
      password = \${DB_PASSWORD:?the database password is required}
services:
  web:
    environmentFromFiles: { API_KEY: /run/secrets/api_key, TLS_KEY: /etc/shop/tls/key.pem }
    script: exec sleep 1000
`;

async function kube(t: Parameters<typeof writeFiles>[0], definition: string): Promise<{ text: string; d: IDeployment; manifest: Record<string, unknown> }> {
  const dir = await writeFiles(t, { 'image.yaml': definition });
  const run = await berth(['build', join(dir, 'image.yaml'), '-o', join(dir, 'out'), '--kube']);
  t.is(run.code, 0, run.stderr);
  const text = await readFile(join(dir, 'out/kube.yaml'), 'utf8');
  const manifest = JSON.parse(await readFile(join(dir, 'out/manifest.json'), 'utf8')) as Record<string, unknown>;
  return { text, d: parse(text) as IDeployment, manifest };
}

test('files: and environmentFiles in a definition go into the manifest as written', async (t) => {
  const { manifest } = await kube(t, shop);
  t.deepEqual(manifest.environmentFiles, ['-/etc/shop/common.env']);
  t.deepEqual(manifest.files, { '/run/shop/config.ini': { template: 'password = ${DB_PASSWORD:?the database password is required}\n' } });
});

test('--kube: each directory of secret files is a read-only volume of the Secret NAME-secrets, mode 0400, keys by file name; the comment says how to make it', async (t) => {
  const { text, d } = await kube(t, shop);
  const pod = d.spec!.template.spec!;
  const secretVolumes = pod.volumes!.filter((v) => v.secret);
  t.deepEqual(secretVolumes, [
    { name: 'secret-etc-shop-tls', secret: { secretName: 'shop-secrets', defaultMode: 0o400, optional: false, items: [{ key: 'key.pem', path: 'key.pem' }] } },
    { name: 'secret-run-secrets', secret: { secretName: 'shop-secrets', defaultMode: 0o400, optional: false, items: [{ key: 'api_key', path: 'api_key' }, { key: 'db_password', path: 'db_password' }] } },
  ]);
  const mounts = pod.containers[0].volumeMounts!;
  t.deepEqual(mounts.filter((m) => m.readOnly), [
    { name: 'secret-etc-shop-tls', mountPath: '/etc/shop/tls', readOnly: true },
    { name: 'secret-run-secrets', mountPath: '/run/secrets', readOnly: true },
  ]);
  t.regex(text, /# secret files the services read \(\/etc\/shop\/tls\/key\.pem, \/run\/secrets\/api_key, \/run\/secrets\/db_password\), from the Secret shop-secrets, mode 0400; make it before the pod: kubectl create secret generic shop-secrets --from-file=api_key=\.\/api_key --from-file=db_password=\.\/db_password --from-file=key\.pem=\.\/key\.pem\n\s+volumes:/);
  t.false(text.includes('hunter'), 'no value is in the file');
  // the rendered file's directory is under /run, already an emptyDir: no volume of its own
  t.deepEqual(pod.volumes!.filter((v) => v.emptyDir).map((v) => v.name), ['run', 'tmp']);
});

test('--kube, read-only root: a rendered file outside /run and /tmp gets an emptyDir for its directory; one with an owner makes the pod root, saying why', async (t) => {
  const elsewhere = await kube(t, 'image: { name: app }\nfiles:\n  /srv/conf/app.ini: { template: "x=1" }\nservices:\n  a: { script: exec sleep 9 }\n');
  t.deepEqual(elsewhere.d.spec!.template.spec!.volumes, [{ name: 'run', emptyDir: {} }, { name: 'srv-conf', emptyDir: {} }, { name: 'tmp', emptyDir: {} }]);
  const owned = await kube(t, 'image: { name: app }\nfiles:\n  /run/app.ini: { template: "x=1", owner: www-data }\nservices:\n  a: { script: exec sleep 9 }\n');
  t.is(owned.d.spec!.template.spec!.securityContext, undefined);
  t.regex(owned.text, /files \/run\/app\.ini names its owner or group: giving a file away needs root/);
  const beside = await kube(t, 'image: { name: app }\nenvironment: { etc: { "app/base.conf": { text: "a" } } }\nfiles:\n  /etc/app/app.ini: { template: "x=1" }\nservices:\n  a: { script: exec sleep 9 }\n');
  t.regex(beside.text, /files are rendered in \/etc\/app, where the image has \/etc\/app\/base\.conf: under a read-only root it would be an emptyDir hiding it \(render into \/run instead\)/);
});

test('a definition that would build a secret into the image is refused, at the secret, saying what puts it there', async (t) => {
  const { problems, build } = await evaluate(t, {
    'secrets/api_key': 'hunter2\n',
    'image.yaml': `image:
  name: shop
  env: { FILE__DB_PASSWORD: /run/db_password, DB_PASSWORD: hunter2 }
copy:
  /run/secrets: ./secrets
environment:
  etc:
    "app/token": { text: "abc" }
services:
  web:
    environmentFromFiles: { API_KEY: /run/secrets/api_key, TOKEN: /etc/app/token, K2: /srv/a/api_key, "BAD": "/run/s/a key" }
    environment: { API_KEY: literal }
    script: exec sleep 1000
`,
  });
  t.is(build, undefined);
  t.deepEqual(problems, [
    'image.yaml:3:29: image.env.FILE__DB_PASSWORD: /run/db_password is a secret file directly in /run, which the container needs writable; put secret files in a directory of their own, such as /run/secrets',
    'image.yaml:3:60: image.env.DB_PASSWORD: DB_PASSWORD is a secret read from a file, so a value here would be built into the image; leave it to the secret file',
    'image.yaml:11:38: services.web.environmentFromFiles.API_KEY: API_KEY is read from the secret file /run/secrets/api_key, and copy /run/secrets puts a file into the image there: a secret is mounted when the container runs (berth build --kube mounts it from a Secret), never built in; remove that file from the definition',
    'image.yaml:11:67: services.web.environmentFromFiles.TOKEN: TOKEN is read from the secret file /etc/app/token, and environment.etc puts a file into the image there: a secret is mounted when the container runs (berth build --kube mounts it from a Secret), never built in; remove that file from the definition',
    'image.yaml:11:87: services.web.environmentFromFiles.K2: the secret files /run/secrets/api_key and /srv/a/api_key have the same name, so one Kubernetes Secret cannot hold both (a key is a file name); rename one of them',
    'image.yaml:11:110: services.web.environmentFromFiles.BAD: the secret file\'s name "a key" cannot be a Kubernetes Secret key (letters, digits, \'-\', \'_\', \'.\'); rename the file',
    'image.yaml:12:29: services.web.environment.API_KEY: API_KEY is a secret read from a file, so a value here would be built into the image; leave it to the secret file',
  ]);
});

test('a secret file beside files the image has elsewhere in its directory is refused: the Secret would hide them', async (t) => {
  const { problems } = await evaluate(t, {
    'image.yaml': 'environment: { etc: { "app/base.conf": { text: "a" } } }\nservices:\n  web:\n    environmentFromFiles: { TOKEN: /etc/app/token }\n    script: exec sleep 1\n',
  });
  t.deepEqual(problems, [
    'image.yaml:4:36: services.web.environmentFromFiles.TOKEN: /etc/app/token is a secret file in /etc/app, where the image also has /etc/app/base.conf (environment.etc): the Secret mounted there would hide it; put secret files in a directory of their own, such as /run/secrets',
  ]);
});
