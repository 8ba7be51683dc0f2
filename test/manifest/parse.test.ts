import test from 'ava';
import { execFile } from 'node:child_process';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { formatProblem, loadManifest } from '../../src/manifest/index.js';
import { jsonErrorOffset, tokenAt } from '../../src/manifest/json-error.js';
import { repoRoot, tempDir, tempFile } from '../fixtures/manifest/helpers.js';

const lines = async (file: string, strict = false) => (await loadManifest(file, { strict })).problems.map(formatProblem);
const at = (file: string) => (rest: string) => `${file}:${rest}`;

test('the README manifest example loads, from YAML and from the same content as JSON', async (t) => {
  const source = join(repoRoot, 'test/fixtures/manifest/contract.yaml');
  const yaml = await loadManifest(source);
  t.deepEqual(yaml.problems, []);
  t.deepEqual(Object.keys(yaml.manifest!.services), ['migrate', 'web', 'provision', 'debug-shell']);
  t.deepEqual(yaml.manifest!.services.migrate.argv, ['/bin/sh', '-e', '-c', 'echo migrating\n']);
  const json = await loadManifest(await tempFile(t, 'm.json', JSON.stringify(parse(await readFile(source, 'utf8')))));
  t.deepEqual(json, yaml);
});

test('YAML problems point at the offending value, or the key for unknown fields', async (t) => {
  const file = await tempFile(t, 'm.yaml', `version: 1
services:
  web:
    execStart: /usr/bin/node server.js
    restartOnFailur: true
    after: [migrat]
    user: "a b"
`);
  const f = at(file);
  t.deepEqual(await lines(file), [
    f("5:5: services.web.restartOnFailur: unknown field 'restartOnFailur'; did you mean 'restartOnFailure'?"),
    f("6:13: services.web.after[0]: unknown service 'migrat'"),
    f('7:11: services.web.user: expected a user name or uid, optionally followed by :group, got the string "a b"'),
  ]);
});

test('a missing required field points at the mapping that lacks it', async (t) => {
  const file = await tempFile(t, 'm.yaml', `# comment\nversion: 1\nservices:\n  web:\n    tty: true\n`);
  t.deepEqual(await lines(file), [`${file}:5:5: services.web: missing 'script' or 'execStart': an enabled service needs a command to run`]);
  const root = await tempFile(t, 'm.yaml', `\n\nservices: {}\n`);
  t.deepEqual(await lines(root), [`${root}:3:1: version: missing required field 'version'`]);
});

test('a key with an empty value is located at the key', async (t) => {
  const file = await tempFile(t, 'm.yaml', `version: 1\nservices:\n  web:\n    script: x\n    environment:\n`);
  t.deepEqual(await lines(file), [`${file}:5:5: services.web.environment: expected a mapping, got nothing (an empty value)`]);
});

test('YAML syntax errors give line:col and no stack trace', async (t) => {
  const file = await tempFile(t, 'm.yaml', 'version: 1\nservices:\n  web: [\n');
  const [line, ...rest] = await lines(file);
  t.regex(line, /m\.yaml:4:1: \(file\): invalid YAML: /);
  t.deepEqual(rest, []);
});

test('duplicate keys in YAML, service names included, are errors at the second key', async (t) => {
  const file = await tempFile(t, 'm.yaml', 'version: 1\nservices:\n  web: {script: x}\n  web: {script: y}\n');
  t.deepEqual(await lines(file), [`${file}:4:3: (file): duplicate key web: each key may appear only once in a mapping (service names must be unique)`]);
});

test('several YAML documents in one file are an error', async (t) => {
  const file = await tempFile(t, 'm.yaml', 'version: 1\n---\nservices: {}\n');
  t.regex((await lines(file))[0], /a manifest is a single document; remove the '---' separator/);
});

test('YAML anchors and merge keys work', async (t) => {
  const file = await tempFile(t, 'm.yml', `version: 1
x-common: &common
  restartOnFailure: true
services:
  web: { <<: *common, script: x }
`);
  t.deepEqual(await lines(file), [`${file}:2:1: x-common: unknown field 'x-common'; known fields: $schema, version, http, services, logging, resources, environmentFiles, files`]);
  const ok = await tempFile(t, 'm.yml', 'version: 1\nservices:\n  a: &a { script: x, restartOnFailure: true }\n  b: { <<: *a, tty: true }\n');
  const { manifest } = await loadManifest(ok);
  t.like(manifest?.services.b, { restartOnFailure: true, tty: true, script: 'x' });
});

test('JSON problems are located too, tabs or not', async (t) => {
  const file = await tempFile(t, 'm.json', '{\n\t"version": 1,\n\t"services": {\n\t\t"web": {"script": "x", "after": ["db"]}\n\t}\n}\n');
  t.deepEqual(await lines(file), [`${file}:4:36: services.web.after[0]: unknown service 'db'`]);
});

test('JSON syntax errors give line:col', async (t) => {
  const comma = await tempFile(t, 'm.json', '{\n  "version": 1,\n  "services": {"a": {"script": "x",}}\n}\n');
  t.deepEqual(await lines(comma), [`${comma}:3:36: (file): invalid JSON: Expected double-quoted property name`]);
  const cut = await tempFile(t, 'm.json', '{\n  "version": 1');
  t.deepEqual(await lines(cut), [`${cut}:2:15: (file): invalid JSON: Expected ',' or '}' after property value`]);
  const token = await tempFile(t, 'm.json', '{\n  "version": tru\n}');
  t.deepEqual(await lines(token), [`${token}:2:14: (file): invalid JSON: unexpected "tru"`]);
  const empty = await tempFile(t, 'm.json', '{"version": 1, "services": {"a": {"script": "x"}}');
  t.deepEqual(await lines(empty), [`${empty}:1:50: (file): invalid JSON: Expected ',' or '}' after property value`]);
});

test('duplicate JSON keys are caught in strict mode (berth validate), silently merged otherwise', async (t) => {
  const file = await tempFile(t, 'm.json', '{"version": 1, "services": {"a": {"script": "x"}, "a": {"script": "y"}}}');
  t.deepEqual(await lines(file), []);
  t.deepEqual(await lines(file, true), [`${file}:1:51: (file): duplicate key "a": each key may appear only once in a mapping (service names must be unique)`]);
});

test('a file with another extension is sniffed: JSON when it parses as JSON, else YAML', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'manifest'), '{"version": 1, "services": {}}');
  await writeFile(join(dir, 'manifest.conf'), 'version: 1\nservices: {}\n');
  t.deepEqual(await lines(join(dir, 'manifest')), []);
  t.deepEqual(await lines(join(dir, 'manifest.conf')), []);
});

test('unreadable, missing, directory, empty and binary files each get one clear problem', async (t) => {
  const dir = await tempDir(t);
  const empty = join(dir, 'empty.yaml');
  const blank = join(dir, 'blank.json');
  const binary = join(dir, 'bin.json');
  const latin1 = join(dir, 'latin1.yaml');
  await writeFile(empty, '');
  await writeFile(blank, ' \n\n');
  await writeFile(binary, Buffer.from([0x7b, 0x0a, 0x00, 0xff, 0x13]));
  await writeFile(latin1, Buffer.from('version: 1 # caf\xe9\n', 'latin1'));
  t.deepEqual(await lines(join(dir, 'nope.yaml')), [`${dir}/nope.yaml:1:1: (file): no such file`]);
  t.deepEqual(await lines(dir), [`${dir}:1:1: (file): this is a directory; give the path of a manifest file`]);
  t.deepEqual(await lines(empty), [`${empty}:1:1: (file): the file is empty; a manifest needs at least 'version: 1' and 'services'`]);
  t.deepEqual(await lines(blank), [`${blank}:1:1: (file): the file is empty; a manifest needs at least 'version: 1' and 'services'`]);
  t.deepEqual(await lines(binary), [`${binary}:2:1: (file): this is binary data, not a YAML or JSON manifest`]);
  t.deepEqual(await lines(latin1), [`${latin1}:1:1: (file): the file is not UTF-8 text (binary data?); a manifest is YAML or JSON saved as UTF-8`]);
  if (process.getuid?.() !== 0) {
    const locked = join(dir, 'locked.yaml');
    await writeFile(locked, 'version: 1\n');
    await chmod(locked, 0);
    t.deepEqual(await lines(locked), [`${locked}:1:1: (file): permission denied: cannot read the file`]);
  }
});

test('a big manifest loads in reasonable time, and a huge file is refused without reading it', async (t) => {
  const services: Record<string, unknown> = {};
  for (let i = 0; i < 5000; i++) services[`svc-${i}`] = { execStart: `/bin/app --n ${i}`, after: i ? [`svc-${i - 1}`] : [], environment: { N: i } };
  const dir = await tempDir(t);
  const json = join(dir, 'big.json');
  const yaml = join(dir, 'big.yaml');
  await writeFile(json, JSON.stringify({ version: 1, services }));
  await writeFile(yaml, JSON.stringify({ version: 1, services }, null, 2));
  let started = Date.now();
  t.is(Object.keys((await loadManifest(json)).manifest!.services).length, 5000);
  t.true(Date.now() - started < 3000, 'JSON');
  started = Date.now();
  t.is(Object.keys((await loadManifest(yaml)).manifest!.services).length, 5000);
  t.true(Date.now() - started < 10000, 'YAML');

  const huge = join(dir, 'huge.yaml');
  await writeFile(huge, Buffer.alloc(17 * 2 ** 20, 0x20));
  t.deepEqual(await lines(huge), [`${huge}:1:1: (file): the file is 17.0 MiB; a manifest is at most 16 MiB — is it the right file?`]);
});

test('a valid JSON manifest loads without loading the YAML parser', async (t) => {
  const file = await tempFile(t, 'm.json', '{"version": 1, "services": {"web": {"execStart": "node server.js"}}}');
  const script = `
    import { createRequire } from 'node:module';
    const { loadManifest } = await import(${JSON.stringify(join(repoRoot, 'dist/src/manifest/index.js'))});
    const { manifest } = await loadManifest(${JSON.stringify(file)});
    const loaded = Object.keys(createRequire(import.meta.url).cache).some((p) => p.includes('/node_modules/yaml/'));
    console.log(JSON.stringify({ ok: !!manifest, loaded }));`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script]);
  t.deepEqual(JSON.parse(stdout), { ok: true, loaded: false });
});

test('JSON errors V8 gives no offset for are still located', (t) => {
  t.is(jsonErrorOffset('{"a": tru}'), 6);
  t.is(jsonErrorOffset('[1, 2, nul ]'), 7);
  t.is(jsonErrorOffset('{"a": "b\nc"}'), 8);
  t.is(jsonErrorOffset('{"a": [1, {"b": null}], "c": -1.5e3} x'), 37);
  t.is(jsonErrorOffset('{"a": 1'), 7);
  t.is(jsonErrorOffset('{"a": 1}'), 8);
  t.is(tokenAt('{"a": tru}', 6), '"tru"');
  t.is(tokenAt('{"a": 1', 7), 'end of file');
});
