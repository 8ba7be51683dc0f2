// sd_notify's message grammar: the keys Berth acts on, the shapes it refuses,
// and random bytes that never throw (fixed seed; BERTH_FUZZ_RUNS for more).
import test from 'ava';
import fc from 'fast-check';
import { parseNotification } from '../../src/notify/message.js';

const params = { numRuns: Number(process.env.BERTH_FUZZ_RUNS ?? 1000), seed: Number(process.env.BERTH_FUZZ_SEED ?? 28) };
const parse = (text: string) => parseNotification(Buffer.from(text));

test('each key Berth acts on becomes a field; unknown keys and empty lines are valid and ignored', (t) => {
  t.deepEqual(parse('READY=1\nSTATUS=serving 3 clients\nMAINPID=42\nERRNO=2\nEXTEND_TIMEOUT_USEC=5000000\nRELOADING=1\nSTOPPING=1\n'), {
    ok: { ready: true, status: 'serving 3 clients', mainPid: 42, errno: 2, extendTimeoutUs: 5_000_000, reloading: true, stopping: true },
  });
  t.deepEqual(parse('BARRIER=1\n\nFDSTORE=1\nFDNAME=x'), { ok: {} });
  t.deepEqual(parse('WATCHDOG=1\nWATCHDOG_USEC=2000000'), { ok: { watchdog: 'ping', watchdogUs: 2_000_000 } });
  t.deepEqual(parse('WATCHDOG=trigger'), { ok: { watchdog: 'trigger' } });
  t.deepEqual(parse('STATUS=a=b\nSTATUS='), { ok: { status: '' } }, 'the last STATUS= counts; an empty one clears it');
  t.deepEqual(parse(''), { ok: {} });
});

test('a message that is not KEY=VALUE text is refused whole, with why', (t) => {
  for (const [text, why] of [
    ['READY=1\nhello', /not KEY=VALUE/],
    ['ready=1', /not KEY=VALUE/],
    ['READY=yes', /READY="yes": only 1 is meant/],
    ['MAINPID=0', /not a pid/],
    ['MAINPID=-5', /not a pid/],
    ['ERRNO=x', /not an errno/],
    ['EXTEND_TIMEOUT_USEC=1e9', /microseconds/],
    ['READY=1\0', /NUL/],
    ['WATCHDOG=2', /only 1 or trigger/],
    ['WATCHDOG_USEC=0', /above 0/],
  ] as const) {
    const got = parse(text);
    t.true('problem' in got && why.test(got.problem), `${JSON.stringify(text)}: ${JSON.stringify(got)}`);
  }
  t.deepEqual(parseNotification(Buffer.from([0x52, 0x3d, 0xff, 0xfe])), { problem: 'it is not UTF-8' });
});

test('random bytes never throw: a message is parsed or refused with a reason', (t) => {
  const bytes = fc.uint8Array({ maxLength: 4096 });
  // bytes made mostly of the grammar's own pieces reach deeper than noise does
  const piece = fc.constantFrom('READY=', 'STATUS=', 'MAINPID=', 'ERRNO=', 'EXTEND_TIMEOUT_USEC=', 'STOPPING=', 'WATCHDOG=', 'WATCHDOG_USEC=', 'trigger', '1', '\n', '=', '0', '-', 'é', '\0', ' ');
  const shaped = fc.array(piece, { maxLength: 40 }).map((p) => Buffer.from(p.join('')));
  fc.assert(
    fc.property(fc.oneof(bytes, shaped), (data) => {
      const got = parseNotification(data);
      return 'ok' in got ? typeof got.ok === 'object' : typeof got.problem === 'string' && got.problem.length > 0;
    }),
    params,
  );
  t.pass();
});
