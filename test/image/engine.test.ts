// The engine command lines of `berth build --tag`: each engine is told a fixed
// creation time and where to write the image ID; what an engine cannot make
// reproducible is said, never hidden. No engine is needed.
import test from 'ava';
import fc from 'fast-check';
import { buildCommand, dockerFeatures, engineKind, epochDate, EpochError, sourceDateEpoch } from '../../src/image/engine.js';

const request = { tag: 'web:1', context: 'build/web', epoch: 0, iidFile: '/tmp/x/image-id' };

test('podman: a fixed timestamp, no engine-version label, the image ID to a file', (t) => {
  const c = buildCommand({ ...request, kind: 'podman' });
  t.deepEqual(c.args, ['build', '--timestamp', '0', '--identity-label=false', '--iidfile', '/tmp/x/image-id', '-t', 'web:1', 'build/web']);
  t.deepEqual(c.notes, []);
  t.true(c.writesImageId);
  t.true(c.fixesCreated);
});

test('buildah takes the same arguments as podman', (t) => {
  const c = buildCommand({ ...request, kind: 'buildah', epoch: 1_700_000_000 });
  t.deepEqual(c.args, ['build', '--timestamp', '1700000000', '--identity-label=false', '--iidfile', '/tmp/x/image-id', '-t', 'web:1', 'build/web']);
  t.deepEqual(c.notes, []);
});

test('docker with BuildKit that rewrites timestamps: SOURCE_DATE_EPOCH as build arg and environment, rewrite-timestamp on the output', (t) => {
  const c = buildCommand({ ...request, kind: 'docker', epoch: 86_400, docker: { buildkit: true, rewriteTimestamp: true } });
  t.deepEqual(c.args, ['build', '--build-arg', 'SOURCE_DATE_EPOCH=86400', '--iidfile', '/tmp/x/image-id', '-t', 'web:1', '--output', 'type=docker,rewrite-timestamp=true', 'build/web']);
  t.deepEqual(c.env, { SOURCE_DATE_EPOCH: '86400' });
  t.deepEqual(c.notes, []);
});

test('docker with an older BuildKit: the created time is fixed, and a note says file times are not', (t) => {
  const c = buildCommand({ ...request, kind: 'docker', docker: { buildkit: true, rewriteTimestamp: false } });
  t.deepEqual(c.args, ['build', '--build-arg', 'SOURCE_DATE_EPOCH=0', '--iidfile', '/tmp/x/image-id', '-t', 'web:1', 'build/web']);
  t.is(c.notes.length, 1);
  t.regex(c.notes[0], /cannot rewrite file times.*docker ≥ 26 and buildx ≥ 0\.13/);
  t.true(c.fixesCreated);
});

test('docker without buildx (legacy builder): a note says the image is not reproducible', (t) => {
  const c = buildCommand({ ...request, kind: 'docker', docker: { buildkit: false, rewriteTimestamp: false } });
  t.false(c.args.includes('--output'));
  t.false(c.fixesCreated, 'the legacy builder ignores SOURCE_DATE_EPOCH');
  t.regex(c.notes.join('\n'), /legacy builder.*two image IDs/);
});

test('an engine berth does not know gets the plain command and a note, and no image ID is promised', (t) => {
  const c = buildCommand({ ...request, kind: undefined });
  t.deepEqual(c.args, ['build', '-t', 'web:1', 'build/web']);
  t.false(c.writesImageId);
  t.false(c.fixesCreated);
  t.regex(c.notes.join('\n'), /without a fixed timestamp/);
});

test('the engine is recognised by its program name', (t) => {
  t.is(engineKind('/usr/bin/podman'), 'podman');
  t.is(engineKind('buildah'), 'buildah');
  t.is(engineKind('/usr/local/bin/docker'), 'docker');
  t.is(engineKind('/opt/nerdctl'), undefined);
});

test('docker features come from the buildx and daemon versions', (t) => {
  t.deepEqual(dockerFeatures('github.com/docker/buildx v0.14.1 59582a1', '26.1.3\n'), { buildkit: true, rewriteTimestamp: true });
  t.deepEqual(dockerFeatures('github.com/docker/buildx v0.13.0 abc', '27.0.1'), { buildkit: true, rewriteTimestamp: true });
  t.deepEqual(dockerFeatures('github.com/docker/buildx v0.12.1 abc', '27.0.1'), { buildkit: true, rewriteTimestamp: false });
  t.deepEqual(dockerFeatures('github.com/docker/buildx v0.14.1 abc', '25.0.5'), { buildkit: true, rewriteTimestamp: false });
  t.deepEqual(dockerFeatures('github.com/docker/buildx v1.0.0 abc', undefined), { buildkit: true, rewriteTimestamp: false });
  t.deepEqual(dockerFeatures(undefined, '28.2.2'), { buildkit: false, rewriteTimestamp: false });
});

test('SOURCE_DATE_EPOCH: unset or empty is 0 (1970-01-01), digits are seconds, anything else is refused', (t) => {
  t.is(sourceDateEpoch({}), 0);
  t.is(sourceDateEpoch({ SOURCE_DATE_EPOCH: '' }), 0);
  t.is(sourceDateEpoch({ SOURCE_DATE_EPOCH: '1700000000' }), 1_700_000_000);
  for (const bad of ['-1', '1.5', ' 1', '1e9', 'now', '0x10', '9999999999999']) {
    t.throws(() => sourceDateEpoch({ SOURCE_DATE_EPOCH: bad }), { instanceOf: EpochError, message: /SOURCE_DATE_EPOCH=.* is not a number of seconds/ }, bad);
  }
  t.is(epochDate(0), '1970-01-01T00:00:00Z');
  t.is(epochDate(1_700_000_000), '2023-11-14T22:13:20Z');
});

// Property tests: a fixed seed, so every run checks the same cases; FUZZ_RUNS=N runs more, with a new seed.
const fuzz = { numRuns: Number(process.env.FUZZ_RUNS ?? 300), seed: process.env.FUZZ_RUNS ? Date.now() : 12 };

test('property: any SOURCE_DATE_EPOCH is either its own number of seconds or refused with an EpochError', (t) => {
  fc.assert(fc.property(fc.oneof(
    fc.string({ unit: 'binary' }),
    fc.stringMatching(/^\d{1,14}$/),
    fc.bigInt({ min: 0n, max: 10n ** 14n }).map(String),
    fc.double().map(String),
    fc.integer().map(String),
  ), (raw) => {
    let epoch: number;
    try {
      epoch = sourceDateEpoch({ SOURCE_DATE_EPOCH: raw });
    } catch (error) {
      return error instanceof EpochError && raw !== '' && !/^\d{1,12}$/.test(raw);
    }
    return raw === '' ? epoch === 0 : /^\d{1,12}$/.test(raw) && epoch === Number(raw) && Number.isSafeInteger(epoch);
  }), fuzz);
  t.pass('fast-check found no counterexample');
});

test('property: every engine is given the tag, then the context last, and podman, buildah and docker the epoch and the ID file', (t) => {
  const kinds = fc.constantFrom('podman' as const, 'buildah' as const, 'docker' as const, undefined);
  const features = fc.record({ buildkit: fc.boolean(), rewriteTimestamp: fc.boolean() });
  fc.assert(fc.property(kinds, fc.nat(), fc.stringMatching(/^[a-z0-9][a-z0-9._\/:-]{0,20}$/), features, (kind, epoch, tag, docker) => {
    const c = buildCommand({ kind, tag, context: '/ctx', epoch, iidFile: '/tmp/id', docker });
    const at = (flag: string) => c.args[c.args.indexOf(flag) + 1];
    if (c.args[0] !== 'build' || c.args[c.args.length - 1] !== '/ctx' || at('-t') !== tag) return false;
    if (kind === undefined) return !c.writesImageId && c.notes.length === 1;
    if (at('--iidfile') !== '/tmp/id' || !c.writesImageId) return false;
    if (kind === 'docker') return at('--build-arg') === `SOURCE_DATE_EPOCH=${epoch}` && c.env.SOURCE_DATE_EPOCH === String(epoch);
    return at('--timestamp') === String(epoch) && c.notes.length === 0;
  }), fuzz);
  t.pass('fast-check found no counterexample');
});
