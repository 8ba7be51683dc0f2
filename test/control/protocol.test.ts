// The control protocol's parser against its grammar (docs/state-dir.md), and
// a live init fed random lines: every line gets one answer, nothing crashes.
import test from 'ava';
import fc from 'fast-check';
import { DEFAULT_LOG_LINES, MAX_LOG_LINES, MAX_SERVICES_PER_REQUEST, parseRequest } from '../../src/control/protocol.js';
import { parseSignal } from '../../src/unix/signals.js';
import { rawRequest } from '../helpers/control.js';
import { startInit } from '../helpers/init.js';

const runs = Number(process.env.BERTH_FUZZ_RUNS ?? 300);
const seed = Number(process.env.BERTH_FUZZ_SEED ?? 7);
const params = { numRuns: runs, seed };

const name = fc.stringMatching(/^[A-Za-z0-9._-]{1,20}$/);
const validRequest = fc.oneof(
  fc.constant({ op: 'status' }),
  fc.constant({ op: 'reload' }),
  fc.record({ op: fc.constantFrom('start', 'stop', 'restart'), services: fc.array(name, { minLength: 1, maxLength: 5 }) }),
  fc.record({ op: fc.constant('signal'), services: fc.array(name, { minLength: 1, maxLength: 5 }), signal: fc.constantFrom('HUP', 'SIGTERM', '9', 'usr1') }),
  fc.record({ op: fc.constant('logs'), service: name, lines: fc.integer({ min: 0, max: MAX_LOG_LINES }), follow: fc.boolean() }),
);

test('parseRequest is total: any line is a request or an error, never an exception', (t) => {
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.json(), fc.string({ unit: 'binary' })), (line) => {
      const r = parseRequest(line);
      return 'error' in r ? typeof r.error === 'string' && r.error.length > 0 : typeof r.op === 'string';
    }),
    params,
  );
  t.log(`${runs} lines`);
  t.true('error' in parseRequest('{"op":"status"'));
});

test('every valid request parses to itself (names deduplicated), and any extra field is refused', (t) => {
  fc.assert(
    fc.property(validRequest, fc.string({ minLength: 1 }), (req, extra) => {
      const parsed = parseRequest(JSON.stringify(req));
      const expected = 'services' in req ? { ...req, services: [...new Set(req.services)] } : req;
      if (JSON.stringify(parsed) !== JSON.stringify(expected)) return false;
      if (extra in req) return true;
      return 'error' in parseRequest(JSON.stringify({ ...req, [extra]: 1 }));
    }),
    params,
  );
  t.true('error' in parseRequest(JSON.stringify({ op: 'stop', services: Array(MAX_SERVICES_PER_REQUEST + 1).fill('a') })));
});

test('logs: lines and follow have defaults; anything but a whole number of lines in range, or a boolean follow, is refused', (t) => {
  t.deepEqual(parseRequest('{"op":"logs","service":"web"}'), { op: 'logs', service: 'web', lines: DEFAULT_LOG_LINES, follow: false });
  fc.assert(
    fc.property(name, fc.anything(), fc.anything(), (service, lines, follow) => {
      const r = parseRequest(JSON.stringify({ op: 'logs', service, lines, follow }));
      const sent = JSON.parse(JSON.stringify({ lines, follow })) as { lines?: unknown; follow?: unknown };
      const linesOk = sent.lines === undefined || (Number.isInteger(sent.lines) && (sent.lines as number) >= 0 && (sent.lines as number) <= MAX_LOG_LINES);
      const followOk = sent.follow === undefined || typeof sent.follow === 'boolean';
      return 'error' in r ? !(linesOk && followOk) : linesOk && followOk && r.op === 'logs' && r.service === service;
    }),
    params,
  );
  for (const bad of [-1, 1.5, MAX_LOG_LINES + 1, '5']) t.true('error' in parseRequest(JSON.stringify({ op: 'logs', service: 'web', lines: bad })), String(bad));
  t.true('error' in parseRequest('{"op":"logs","service":""}'));
});

test('parseSignal takes names with or without SIG, any case, and numbers; nothing else', (t) => {
  t.is(parseSignal('HUP'), 'SIGHUP');
  t.is(parseSignal('sigterm'), 'SIGTERM');
  t.is(parseSignal('9'), 'SIGKILL');
  fc.assert(
    fc.property(fc.string(), (text) => {
      const s = parseSignal(text);
      return s === undefined || (/^SIG[A-Z0-9]+$/.test(s) && (text.toUpperCase().replace(/^(SIG)?/, 'SIG') === s || /^\d+$/.test(text)));
    }),
    params,
  );
  for (const bad of ['', 'SIG', 'NOPE', '-1', '1.5', '99999', ' HUP']) t.is(parseSignal(bad), undefined, bad);
});

test('a live init answers every random line once, in order, and keeps serving', async (t) => {
  const init = startInit({ manifest: { version: 1, services: { web: { script: 'exec sleep 60' } } } });
  t.teardown(() => init.cleanup());
  await init.waitFor('all stages done');
  const lines = fc.sample(fc.oneof(fc.string().map((s) => s.replace(/\n/g, ' ')), fc.json(), validRequest.filter((r) => r.op !== 'reload' && r.op !== 'logs' && (!('services' in r) || !r.services.includes('web'))).map((r) => JSON.stringify({ ...r, op: r.op === 'stop' || r.op === 'restart' ? 'status' : r.op }))), { numRuns: Math.min(runs, 200), seed });
  const answers = await rawRequest(init.stateDir, lines.map((l) => `${l}\n`).join(''), lines.length, 30_000);
  t.is(answers.length, lines.length);
  for (const a of answers) t.notThrows(() => JSON.parse(a));
  const [status] = await rawRequest(init.stateDir, '{"op":"status"}\n', 1);
  t.is(JSON.parse(status).result.services[0].state, 'up');
});

// `logs` is the last request of its connection (its output follows), so each gets a connection of its own
test('a live init answers random logs requests with one answer line each and keeps serving', async (t) => {
  const init = startInit({ manifest: { version: 1, services: { web: { script: 'echo hello; exec sleep 60' }, raw: { script: 'exec sleep 60', logging: { format: 'passthrough' } } } } });
  t.teardown(() => init.cleanup());
  await init.waitFor('all stages done');
  const requests = fc.sample(fc.record({ op: fc.constant('logs'), service: fc.oneof(name, fc.constantFrom('web', 'raw')), lines: fc.oneof(fc.integer({ min: -5, max: 300 }), fc.constant(1.5)), follow: fc.constant(false) }), { numRuns: Math.min(runs, 50), seed });
  for (const req of requests) {
    const valid = Number.isInteger(req.lines) && req.lines >= 0;
    // a valid one ends with the connection closed; a malformed one is answered like any other, on an open connection
    const [answer, ...rest] = await rawRequest(init.stateDir, `${JSON.stringify(req)}\n`, valid ? 10 : 1);
    const parsed = JSON.parse(answer) as { ok: boolean; kind?: string };
    if (!valid) t.is(parsed.kind, 'bad-request');
    else if (req.service === 'web') t.deepEqual([parsed.ok, rest], [true, req.lines > 0 ? ['hello'] : []]);
    else t.is(parsed.kind, req.service === 'raw' ? 'not-kept' : 'unknown-service');
  }
  const [status] = await rawRequest(init.stateDir, '{"op":"status"}\n', 1);
  t.is(JSON.parse(status).result.services[0].state, 'up');
});
