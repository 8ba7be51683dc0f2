// Line framing, formats and the recent-lines ring of src/logs, against their
// rules, on random input: every byte kept, lines whole, cut only past 64 KiB.
import test from 'ava';
import fc from 'fast-check';
import { isUtf8 } from 'node:buffer';
import { Writable } from 'node:stream';
import { formatterFor, formatInitLine, escapeInvalid } from '../../src/logs/format.js';
import { Sink } from '../../src/logs/sink.js';
import { LineFramer, MAX_LINE } from '../../src/logs/framer.js';
import { RecentLines, RECENT_BYTES } from '../../src/logs/recent.js';
import { framed } from '../helpers/lines.js';

const runs = Number(process.env.BERTH_FUZZ_RUNS ?? 100);
const params = { numRuns: runs, seed: Number(process.env.BERTH_FUZZ_SEED ?? 7) };

// text with newlines, sometimes a run long enough to be cut
const piece = fc.oneof(
  { weight: 5, arbitrary: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)) },
  { weight: 1, arbitrary: fc.integer({ min: MAX_LINE - 2, max: 3 * MAX_LINE + 5 }).map((n) => Buffer.alloc(n, 0x78)) },
);
const input = fc.array(piece, { maxLength: 8 }).map((ps) => Buffer.concat(ps));

/** `chunk` in a buffer of its own, after `headroom` bytes of junk (what a reader reading at an offset hands over). */
function withHeadroom(chunk: Buffer, headroom: number): Buffer {
  const buf = Buffer.alloc(headroom + chunk.length, 0x2a);
  chunk.copy(buf, headroom);
  return buf.subarray(headroom);
}

test('framing: whole lines out, every byte kept, a line cut only past 64 KiB, whatever the reads and the room before them', (t) => {
  t.notThrows(() => fc.assert(
    fc.property(input, fc.array(fc.integer({ min: 1, max: 2 * MAX_LINE }), { minLength: 1, maxLength: 20 }), fc.constantFrom(0, 1, 64, MAX_LINE), (data, sizes, headroom) => {
      const out: Buffer[] = [];
      const framer = new LineFramer((lines) => {
        if (lines[lines.length - 1] !== 10) throw new Error('an emit that does not end a line');
        out.push(Buffer.from(lines));
      });
      for (let at = 0, i = 0; at < data.length; i++) {
        const size = sizes[i % sizes.length];
        framer.push(withHeadroom(data.subarray(at, at + size), headroom), headroom);
        at += size;
      }
      framer.flush();
      return Buffer.concat(out).equals(framed(data));
    }),
    params,
  ));
});

test('framing: with room before each read, a line begun in one read goes out with the next read\'s lines, in one buffer', (t) => {
  const out: Buffer[] = [];
  const framer = new LineFramer((lines) => out.push(Buffer.from(lines)));
  for (const read of ['first line\nsecond li', 'ne\nthird line\nfou', 'rth\n']) framer.push(withHeadroom(Buffer.from(read), 100), 100);
  t.deepEqual(out.map(String), ['first line\n', 'second line\nthird line\n', 'fourth\n']);
});

test('framing: a line of exactly 64 KiB is one line; one byte more is cut into two', (t) => {
  for (const [len, lines] of [[MAX_LINE, 1], [MAX_LINE + 1, 2]] as const) {
    const out: Buffer[] = [];
    const framer = new LineFramer((l) => out.push(Buffer.from(l)));
    framer.push(Buffer.concat([Buffer.alloc(len, 0x61), Buffer.from('\n')]));
    const text = Buffer.concat(out).toString();
    t.is(text.split('\n').length - 1, lines, `${len} bytes`);
    t.false(framer.pending);
  }
});

test('prefix: the padded name and "| " before each line; timestamps put an ISO time first; plain leaves the lines alone', (t) => {
  t.is(formatterFor('web', { format: 'prefix', timestamps: false }, 8).prefix!().toString(), 'web      | ');
  t.regex(formatterFor('web', { format: 'prefix', timestamps: true }, 4).prefix!().toString(), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z web  \| $/);
  t.regex(formatterFor('web', { format: 'plain', timestamps: true }, 3).prefix!().toString(), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z $/);
  t.deepEqual(formatterFor('web', { format: 'plain', timestamps: false }, 3), { prefix: null, json: null }, 'plain: the bytes read are written, no copy');
});

/** What a sink writes of `lines` in json, as service db's stderr (through the addon's jsonInto, as the relay does). */
function asJson(lines: Buffer[]): string {
  const chunks: Buffer[] = [];
  const stream = new Writable({ write: (chunk: Buffer, _enc, done) => { chunks.push(Buffer.from(chunk)); done(); } });
  new Sink(stream, () => undefined).writeJson(Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')])), formatterFor('db', { format: 'json', timestamps: false }, 0).json!('stderr'));
  return Buffer.concat(chunks).toString();
}

test('json: one object per line with time, service, stream and line; any bytes survive', (t) => {
  // each line's text as JSON.stringify writes it, whatever the bytes: quotes, backslashes, control characters, UTF-8, invalid bytes
  const bytes = fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0x22, 0x5c, 0x00, 0x1f, 0x7f, 0x08, 0x0c, 0x0d, 0x09));
  // and lines of mostly plain ASCII, long enough for the addon's 32-byte blocks, a byte to escape or a UTF-8 sequence anywhere in them
  const mostlyAscii = fc.array(fc.oneof({ weight: 30, arbitrary: fc.integer({ min: 0x20, max: 0x7e }) }, { weight: 1, arbitrary: bytes }), { maxLength: 200, size: 'max' }).map((a) => Buffer.from(a));
  const text = fc.oneof(fc.string({ unit: 'binary', maxLength: 80 }).map((s) => Buffer.from(s)), fc.array(bytes, { maxLength: 100 }).map((a) => Buffer.from(a)), mostlyAscii);
  t.notThrows(() => fc.assert(
    fc.property(fc.array(text.map((b) => b.filter((x) => x !== 10)), { minLength: 1, maxLength: 8 }), (raw) => {
      const lines = raw.map((l) => Buffer.from(l));
      const out = asJson(lines);
      const objects = out.split('\n').slice(0, -1).map((l) => JSON.parse(l) as Record<string, string>);
      return objects.length === lines.length && objects.every((o, i) => {
        const bytes = o.base64 === undefined ? Buffer.from(o.line) : Buffer.from(o.base64, 'base64');
        return o.service === 'db' && o.stream === 'stderr' && !Number.isNaN(Date.parse(o.time)) && bytes.equals(lines[i]);
      }) && out.split('\n').slice(0, -1).every((l, i) => !isUtf8(lines[i]) || l.endsWith(`"line":${JSON.stringify(lines[i].toString())}}`));
    }),
    params,
  ));
  // a line too long for the sink's buffer at its worst (every byte escaped) goes out as one object all the same
  const long = Buffer.alloc(1024 * 1024, 0x01);
  const [object] = asJson([long]).split('\n');
  t.is(JSON.parse(object).line, long.toString());
  t.is(escapeInvalid(Buffer.from([0x61, 0xff, 0xc3, 0xa9, 0xe2, 0x82])), 'a\\xffé\\xe2\\x82');
  t.deepEqual(JSON.parse(formatInitLine('web: started', { format: 'json', timestamps: false })).service, '[berth]');
  t.is(formatInitLine('web: started', { format: 'prefix', timestamps: false }), '[berth] web: started\n');
});

test('recent lines: the last N lines, oldest first, within 64 KiB; never a partial line', (t) => {
  // lines numbered so a partial one cannot pass for another
  const lengths = fc.array(fc.array(fc.integer({ min: 0, max: 3000 }), { minLength: 1, maxLength: 40 }), { maxLength: 60 });
  t.notThrows(() => fc.assert(
    fc.property(lengths, fc.integer({ min: 0, max: 3000 }), (batches, n) => {
      const ring = new RecentLines();
      const all: string[] = [];
      for (const batch of batches) {
        const lines = batch.map((len) => `${all.length + batch.indexOf(len)}:${'z'.repeat(len)}`);
        ring.append(Buffer.from(lines.map((l) => `${l}\n`).join('')));
        all.push(...lines);
      }
      const got = ring.last(n).toString();
      const kept = got === '' ? [] : got.slice(0, -1).split('\n');
      const want = n === 0 ? [] : all.slice(-n);
      if (Buffer.byteLength(got) > RECENT_BYTES) return false;
      // everything when it fits; otherwise a whole-line suffix of what was asked
      const fits = Buffer.byteLength(want.map((l) => `${l}\n`).join('')) <= RECENT_BYTES / 2;
      const suffix = kept.length <= want.length && kept.every((l, i) => l === want[want.length - kept.length + i]);
      return suffix && (!fits || kept.length === want.length);
    }),
    params,
  ));
});

test('recent lines: replace keeps only the lines given, none of those before (they were spliced past unseen)', (t) => {
  const ring = new RecentLines();
  ring.append(Buffer.from('old 1\nold 2\n'));
  ring.replace(Buffer.from('new 1\nnew 2\n'));
  t.is(ring.last(10).toString(), 'new 1\nnew 2\n');
  ring.append(Buffer.from('new 3\n'));
  t.is(ring.last(10).toString(), 'new 1\nnew 2\nnew 3\n');
  // after a ring that had dropped lines, the first line given is whole and shown
  const full = new RecentLines();
  full.append(Buffer.alloc(RECENT_BYTES + 10, 0x61));
  full.replace(Buffer.from('whole\n'));
  t.is(full.last(10).toString(), 'whole\n');
});
