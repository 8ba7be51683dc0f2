// An image definition's top-level `logging`: merged field by field across
// imports, checked like the manifest's, and written by `berth build` into the
// manifest the init runs.
import test from 'ava';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { berth, evaluate, writeFiles } from '../fixtures/image/helpers.js';

const SERVICE = 'services:\n  web: { execStart: ["/bin/sleep", "1000"] }\n';

test('berth build writes the top-level logging into the manifest; an import sets one field, the importer the other', async (t) => {
  const dir = await writeFiles(t, {
    'base.yaml': `logging:\n  format: prefix\n${SERVICE}`,
    'image.yaml': 'imports: [base.yaml]\nlogging:\n  timestamps: true\n',
  });
  const out = join(dir, 'out');
  const run = await berth(['build', join(dir, 'image.yaml'), '-o', out]);
  t.is(run.code, 0, run.stderr);
  const manifest = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8'));
  t.deepEqual(manifest.logging, { format: 'prefix', timestamps: true });
  const validate = await berth(['validate', join(out, 'manifest.json')]);
  t.is(validate.code, 0, validate.stdout);
});

test('without logging the manifest spells out the default', async (t) => {
  const { build } = await evaluate(t, { 'image.yaml': SERVICE });
  t.deepEqual(build?.manifest.logging, { format: 'plain', timestamps: false });
});

test('an unknown format is refused where it is written', async (t) => {
  const { problems } = await evaluate(t, { 'image.yaml': `logging:\n  format: syslog\n${SERVICE}` });
  t.is(problems.length, 1);
  t.regex(problems[0], /^image\.yaml:2:\d+: logging\.format: .*plain.*prefix.*json.*passthrough/);
});
