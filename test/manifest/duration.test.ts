// Durations and signal names against their documented grammar (fixed seed; BERTH_FUZZ_RUNS for more).
import test from 'ava';
import fc from 'fast-check';
import { DURATION_PATTERN, parseDuration } from '../../src/manifest/duration.js';

const params = { numRuns: Number(process.env.BERTH_FUZZ_RUNS ?? 500), seed: Number(process.env.BERTH_FUZZ_SEED ?? 11) };

test('a duration is a whole number with ms, s, m or h, and means that many milliseconds', (t) => {
  const unit = fc.constantFrom(['ms', 1], ['s', 1000], ['m', 60_000], ['h', 3_600_000] as const);
  fc.assert(fc.property(fc.integer({ min: 0, max: 999_999_999 }), unit, (n, [u, ms]) => parseDuration(`${n}${u}`) === n * (ms as number)), params);
  t.is(parseDuration(1500), 1500);
});

test('anything else is not a duration, and the schema pattern agrees with the parser', (t) => {
  fc.assert(
    fc.property(fc.string(), (text) => (parseDuration(text) !== undefined) === DURATION_PATTERN.test(text)),
    params,
  );
  for (const bad of ['', '10', '1.5s', '-1s', '10 s', '10S', 's', '1d', '1e3ms', '0x10ms']) t.is(parseDuration(bad), undefined, bad);
  for (const bad of [-1, 1.5, Number.NaN, Infinity]) t.is(parseDuration(bad), undefined, String(bad));
});
