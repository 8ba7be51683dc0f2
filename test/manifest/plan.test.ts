import test from 'ava';
import { checkManifest, type Manifest, plan } from '../../src/manifest/index.js';

function manifest(services: Record<string, unknown>): Manifest {
  const { manifest, problems } = checkManifest({ version: 1, services }, 'm.json');
  if (!manifest) throw new Error(problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
  return manifest;
}
const names = (list: { name: string }[]) => list.map((s) => s.name);

test('services are split into stages, disabled ones left out', (t) => {
  const p = plan(manifest({
    post: { type: 'oneshot-post', script: 'x' },
    web: { script: 'x' },
    pre: { type: 'oneshot-pre', script: 'x' },
    off: { script: 'x', enable: false },
  }));
  t.deepEqual([names(p.pre), names(p.longRuns), names(p.post)], [['pre'], ['web'], ['post']]);
});

test('within a stage, after decides the order and file order breaks ties', (t) => {
  const p = plan(manifest({
    c: { type: 'oneshot-pre', script: 'x', after: ['b'] },
    a: { type: 'oneshot-pre', script: 'x' },
    b: { type: 'oneshot-pre', script: 'x' },
    d: { type: 'oneshot-pre', script: 'x' },
  }));
  t.deepEqual(names(p.pre), ['a', 'b', 'c', 'd']);
});

test('an item moves only as far as after forces it', (t) => {
  const p = plan(manifest({
    web: { script: 'x', after: ['db'] },
    cache: { script: 'x' },
    db: { script: 'x' },
  }));
  t.deepEqual(names(p.longRuns), ['cache', 'db', 'web']);
});

test('after across stages does not reorder a stage', (t) => {
  const p = plan(manifest({
    b: { type: 'oneshot-post', script: 'x', after: ['web'] },
    a: { type: 'oneshot-post', script: 'x' },
    web: { script: 'x' },
  }));
  t.deepEqual(names(p.post), ['b', 'a']);
});

test('a hand-built manifest with a cycle cannot be planned', (t) => {
  const m = manifest({ a: { script: 'x' }, b: { script: 'x' } });
  m.services.a.after = ['b'];
  m.services.b.after = ['a'];
  t.throws(() => plan(m), { message: /cycle: a -> b -> a/ });
});

test('a long chain plans quickly', (t) => {
  const services: Record<string, unknown> = {};
  for (let i = 0; i < 5000; i++) services[`s${i}`] = { script: 'x', after: i ? [`s${i - 1}`] : [] };
  const started = Date.now();
  t.is(plan(manifest(services)).longRuns.length, 5000);
  t.true(Date.now() - started < 2000);
});
