// `berth plan`: the stages and what waits on what, as text and as Graphviz.
import test from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runBerth, tempDir } from '../helpers/init.js';

const manifest = `version: 1
services:
  seed: { type: oneshot-pre, after: [migrate], script: "true" }
  migrate: { type: oneshot-pre, script: "true" }
  web: { execStart: [/bin/sleep, "60"] }
  worker: { script: sleep 60, after: [web, seed] }
  provision: { type: oneshot-post, after: [web], script: "true" }
  shell: { enable: false, script: sh }
`;

test('plan prints the stages in order with their after edges, and the disabled services', async (t) => {
  const dir = tempDir();
  writeFileSync(join(dir, 'm.yaml'), manifest);
  const r = await runBerth(['plan', join(dir, 'm.yaml')]);
  t.is(r.code, 0, r.stderr);
  t.is(
    r.stdout,
    [
      'stage 1: oneshot-pre, one at a time',
      '  1. migrate',
      '  2. seed  (after migrate)',
      'stage 2: long-run, started together, then supervised',
      '  - web',
      '  - worker  (after web, seed; starts once web is ready)',
      'stage 3: oneshot-post, one at a time, once every long-run has started',
      '  1. provision  (after web; starts once web is ready)',
      'disabled (never started): shell',
      '',
    ].join('\n'),
  );
});

test('plan shows scheduled jobs as a stage of their own, with their schedules and what each run waits for', async (t) => {
  const dir = tempDir();
  writeFileSync(join(dir, 'm.yaml'), `version: 1
services:
  db: { script: "exec sleep 100" }
  backup: { type: scheduled, schedule: "0 2 * * *", timezone: Europe/Paris, after: [db], script: "true" }
  tick: { type: scheduled, schedule: "@every 10m", script: "true" }
`);
  const r = await runBerth(['plan', join(dir, 'm.yaml')]);
  t.is(r.code, 0, r.stderr);
  t.true(
    r.stdout.endsWith(
      [
        'stage 4: scheduled jobs, armed when the long-runs start, each run on its schedule',
        '  - backup  0 2 * * * (Europe/Paris)  (after db; each run waits until db is ready)',
        '  - tick  @every 10m',
        '',
      ].join('\n'),
    ),
    r.stdout,
  );
  const dot = await runBerth(['plan', join(dir, 'm.yaml'), '--format', 'dot']);
  t.regex(dot.stdout, /"db" -> "backup" \[label="ready"\];/);
});

test('plan --format dot is a Graphviz digraph with a cluster per stage and an edge per after', async (t) => {
  const dir = tempDir();
  writeFileSync(join(dir, 'm.yaml'), manifest);
  const r = await runBerth(['plan', '--format', 'dot'], { env: { BERTH_MANIFEST: join(dir, 'm.yaml') } });
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /^digraph berth \{/);
  t.regex(r.stdout, /subgraph cluster_0 \{\n {4}label="stage 1: oneshot-pre, one at a time";\n {4}"migrate";\n {4}"seed";\n {2}\}/);
  t.regex(r.stdout, /"migrate" -> "seed";/);
  t.regex(r.stdout, /"web" -> "provision" \[label="ready"\];/);
  t.regex(r.stdout, /"seed" -> "worker";/);
  t.regex(r.stdout, /"shell" \[style=dashed/);
  t.true(r.stdout.trimEnd().endsWith('}'));
});

test('plan of a manifest that does not validate prints its problems and exits 1; a bad format is a usage error', async (t) => {
  const dir = tempDir();
  writeFileSync(join(dir, 'bad.yaml'), 'version: 1\nservices:\n  a: { after: [b], script: "true" }\n  b: { after: [a], script: "true" }\n');
  const r = await runBerth(['plan', join(dir, 'bad.yaml')]);
  t.is(r.code, 1);
  t.regex(r.stderr, /bad\.yaml:\d+:\d+: services\.\w\.after.*cycle/);
  const usage = await runBerth(['plan', join(dir, 'bad.yaml'), '--format', 'svg']);
  t.is(usage.code, 2);
  t.regex(usage.stderr, /--format is text or dot, not 'svg'/);
});
