// Memory, CPU and pids amounts as Kubernetes reads them: every accepted form,
// Kubernetes' rounding, and the words for what is refused. The round-trip
// and never-throws properties are in test/fuzz/properties.ts.
import test from 'ava';
import { formatCpu, formatMemory, MAX_PIDS, parseCpu, parseMemory, parsePids } from '../../src/manifest/quantity.js';
import { resolveLimits } from '../../src/manifest/limits.js';

const value = <T>(p: { ok: true; value: T } | { ok: false; error: string }): T | string => (p.ok ? p.value : p.error);

test('memory: plain bytes, binary and decimal suffixes, fractions', (t) => {
  const cases: [unknown, number][] = [
    ['268435456', 268435456], [268435456, 268435456], ['512Mi', 512 * 2 ** 20], ['1G', 1e9], ['1.5Gi', 1.5 * 2 ** 30],
    ['256Ki', 256 * 1024], ['2Ti', 2 * 2 ** 40], ['100k', 100_000], ['5M', 5e6], ['1T', 1e12],
    ['.5Mi', 2 ** 19], ['1.Mi', 2 ** 20], ['+1Ki', 1024], ['0.5k', 500], ['007', 7],
  ];
  for (const [input, bytes] of cases) t.is(value(parseMemory(input)), bytes, String(input));
});

test('memory: a fraction of a byte rounds up, as Quantity.Value() does', (t) => {
  t.is(value(parseMemory('1.1Ki')), 1127); // 1126.4
  t.is(value(parseMemory('1.5')), 2);
  t.is(value(parseMemory(0.1)), 1);
  t.is(value(parseMemory('1.0000000000000000001G')), 1_000_000_001); // exact decimals, no float drift
});

test('memory: what Kubernetes does not write, or no limit can be, is refused with the forms that work', (t) => {
  const hint = 'use bytes or a suffix: Ki, Mi, Gi, Ti, k, M, G, T (e.g. 256Mi)';
  t.is(value(parseMemory('12Q')), `'12Q' is not a memory quantity; ${hint}`);
  for (const bad of ['', 'Mi', '1 Mi', '1K', '1mi', '1MB', '1e9', '0x10', '1.2.3', ' 1', '-', '.', '1Pi', true, null, {}, NaN, Infinity]) {
    const got = parseMemory(bad);
    t.false(got.ok, String(bad));
    if (!got.ok) t.true(got.error.endsWith(hint), got.error);
  }
  t.is(value(parseMemory('0')), "memory '0' must be more than 0 bytes");
  t.is(value(parseMemory('-1Mi')), "memory '-1Mi' must be more than 0 bytes");
  t.is(value(parseMemory(-5)), 'memory -5 must be more than 0 bytes');
  t.regex(value(parseMemory('9000Ti')) as string, /is more than any machine has/);
  t.regex(value(parseMemory(1e300)) as string, /is more than any machine has/);
});

test('cpu: cores as a number or a string, millicores with m; finer than 1m rounds up', (t) => {
  const cases: [unknown, number][] = [[0.5, 0.5], ['0.5', 0.5], ['500m', 0.5], [2, 2], ['2', 2], ['1500m', 1.5], ['1m', 0.001], ['0.0001', 0.001], [0.1, 0.1], ['.25', 0.25], ['250.5m', 0.251]];
  for (const [input, cores] of cases) t.is(value(parseCpu(input)), cores, String(input));
});

test('cpu: refused with the forms that work', (t) => {
  t.is(value(parseCpu('half')), "'half' is not a CPU amount; use cores (0.5, 2) or millicores (500m)");
  for (const bad of ['500M', '1k', '1 m', '', 'm', '1e3', false]) t.false(parseCpu(bad).ok, String(bad));
  t.is(value(parseCpu('0m')), "cpu '0m' must be more than 0 (at least 1m)");
  t.is(value(parseCpu(-1)), 'cpu -1 must be more than 0 (at least 1m)');
});

test('pids: a whole number from 1 to what pids.max takes', (t) => {
  t.is(value(parsePids(200)), 200);
  t.is(value(parsePids(MAX_PIDS)), MAX_PIDS);
  t.is(value(parsePids(0)), `pids 0 must be from 1 to ${MAX_PIDS}`);
  t.is(value(parsePids(MAX_PIDS + 1)), `pids ${MAX_PIDS + 1} must be from 1 to ${MAX_PIDS}`);
  t.is(value(parsePids('200')), "'200' is not a number of processes; use a whole number (e.g. 200)");
  t.false(parsePids(1.5).ok);
});

test('formats: the shortest exact quantity, millicores below a whole core', (t) => {
  t.is(formatMemory(256 * 2 ** 20), '256Mi');
  t.is(formatMemory(1e9), '1G');
  t.is(formatMemory(1536 * 2 ** 20), '1536Mi');
  t.is(formatMemory(1127), '1127');
  t.is(formatCpu(0.5), '500m');
  t.is(formatCpu(2), '2');
});

test("limits: the service's fields over the default's, field by field; every problem named by its field", (t) => {
  t.deepEqual(resolveLimits({ cpu: '500m' }, { memory: '256Mi', cpu: 2 }), { limits: { memory: 256 * 2 ** 20, cpu: 0.5 } });
  t.deepEqual(resolveLimits(undefined, undefined), { limits: {} });
  t.deepEqual(resolveLimits({ pids: 200 }, undefined), { limits: { pids: 200 } });
  t.deepEqual(resolveLimits({ memory: '12Q' }, { cpu: 'x' }), {
    problems: [
      { field: 'memory', message: "'12Q' is not a memory quantity; use bytes or a suffix: Ki, Mi, Gi, Ti, k, M, G, T (e.g. 256Mi)" },
      { field: 'cpu', message: "'x' is not a CPU amount; use cores (0.5, 2) or millicores (500m)" },
    ],
  });
});
