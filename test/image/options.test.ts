import test from 'ava';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generatedFiles, optionList, REGENERATE } from '../../src/image/generated.js';
import { berth, repoRoot, writeFiles } from '../fixtures/image/helpers.js';

for (const [path, expected] of Object.entries(generatedFiles())) {
  test(`${path} is up to date with the option declarations`, async (t) => {
    const committed = await readFile(join(repoRoot, path), 'utf8').catch(() => '');
    t.true(committed === expected, `${path} is out of date; regenerate it with: ${REGENERATE}`);
  });
}

test('berth options lists every option with its type, default and merge rule', async (t) => {
  const run = await berth(['options']);
  t.is(run.code, 0);
  for (const option of optionList()) t.regex(run.stdout, new RegExp(`^${option.path.replace(/[.*+?^${}()|[\]\\<>]/g, '\\$&')}$`, 'm'));
  for (const path of ['image.name', 'image.exposedPorts', 'services.<name>.execStart', 'systemd.services.<name>.serviceConfig',
    'users.users.<name>.extraGroups', 'environment.etc.<name>.source', 'packages', 'nginx.virtualHosts.<name>.port']) {
    t.true(optionList().some((o) => o.path === path), path);
  }
  t.regex(run.stdout, /^packages\n {2}type: list of string; default: \[\]; merge: lists concatenate\n/m);
  t.regex(run.stdout, /^image\.name\n {2}type: string; merge: one value \(definitions must agree\)\n/m);
});

test('berth options PREFIX filters, and an unknown prefix exits 1', async (t) => {
  const run = await berth(['options', 'nginx.']);
  t.deepEqual(run.stdout.split('\n').filter((l) => /^\S/.test(l)), ['nginx.enable', 'nginx.virtualHosts', 'nginx.virtualHosts.<name>.root', 'nginx.virtualHosts.<name>.port']);
  t.is((await berth(['options', 'nope'])).code, 1);
});

test('berth validate checks image definitions, pointing into the imported file that made the error', async (t) => {
  const dir = await writeFiles(t, {
    'common/base.yaml': 'image:\n  tag: [not, a, tag]\n',
    'web/image.yaml': 'imports: [../common/base.yaml]\nsystemd:\n  services:\n    a: { script: x, serviceConfig: { KillMode: mixed } }\n',
    'ok/image.yaml': 'packages: [curl]\n',
    'manifest.yaml': 'version: 1\nservices:\n  a: { script: x }\n',
  });
  const run = await berth(['validate', 'web/image.yaml', 'ok/image.yaml', 'manifest.yaml'], { cwd: dir });
  t.is(run.code, 1);
  t.is(run.stdout, 'common/base.yaml:2:8: image.tag: expected a string, got a list\n1 problem in 1 of 3 files\n');
  const fixed = await writeFiles(t, { 'image.yaml': 'systemd:\n  services:\n    a: { script: x, serviceConfig: { KillMode: mixed } }\n' });
  const ok = await berth(['validate', 'image.yaml'], { cwd: fixed });
  t.is(ok.code, 0);
  t.is(ok.stdout, '1 file OK\n');
  t.is(ok.stderr, 'image.yaml:3:48: systemd.services.a.serviceConfig.KillMode: warning: unit a: KillMode= is not supported by Berth; ignored\n');
});

test('berth validate still treats a file with version: as a manifest, and a bare services: file too', async (t) => {
  const dir = await writeFiles(t, { 'm.yaml': 'services:\n  a: { script: x }\n' });
  const run = await berth(['validate', 'm.yaml'], { cwd: dir });
  t.is(run.stdout, "m.yaml:1:1: version: missing required field 'version'\n1 problem in 1 of 1 file\n");
});
