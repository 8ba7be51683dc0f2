// Secret values masked in what the init says (text) and in a service's
// output it hands on (bytes, not always UTF-8).
import test from 'ava';
import fc from 'fast-check';
import { keepSecret, redact, redactBytes } from '../../src/config/redact.js';

const params = { numRuns: Number(process.env.BERTH_FUZZ_RUNS ?? 100), seed: Number(process.env.BERTH_FUZZ_SEED ?? 7) };

test.serial('redactBytes masks each secret value in any bytes, leaves every other byte, and hands back the same buffer when there is none', (t) => {
  keepSecret(['hunter2-x', 'pässwörd', 'on']);
  t.teardown(() => keepSecret([]));
  const out = redactBytes(Buffer.concat([Buffer.from('a hunter2-x b pässwörd c on '), Buffer.from([0xff, 0xfe, 0x0a])]));
  t.deepEqual(out, Buffer.concat([Buffer.from('a [secret] b [secret] c on '), Buffer.from([0xff, 0xfe, 0x0a])]));
  const clean = Buffer.from('nothing here\n');
  t.is(redactBytes(clean), clean);
  t.is(redact('pässwörd!'), '[secret]!');
});

test.serial('redactBytes agrees with redact on UTF-8 text, and in any bytes replaces each occurrence of the secret\'s bytes, left to right', (t) => {
  t.teardown(() => keepSecret([]));
  const secret = fc.string({ minLength: 4, maxLength: 12 });
  t.notThrows(() =>
    fc.assert(
      fc.property(secret, fc.array(fc.oneof(fc.string({ maxLength: 20 }), secret), { maxLength: 6 }), fc.uint8Array({ maxLength: 20 }), (value, parts, raw) => {
        keepSecret([value]);
        const text = parts.join('') + value;
        const bytes = Buffer.concat([Buffer.from(raw), Buffer.from(text)]);
        const each = Buffer.from(value).toString('latin1');
        const want = Buffer.from(bytes.toString('latin1').split(each).join('[secret]'), 'latin1');
        return redactBytes(Buffer.from(text)).toString() === redact(text) && redactBytes(bytes).equals(want);
      }),
      params,
    ),
  );
});
