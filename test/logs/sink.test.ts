// The prefix format in the relay's own modules: the addon's prefixInto (whole
// lines, as many as fit) and ServiceLog → Sink with reads cut anywhere, lines
// cut at 64 KiB, several output buffers for one read, and a stream that holds
// on to its writes (the sink's reused buffer must not be written over then).
import test from 'ava';
import fc from 'fast-check';
import { Writable } from 'node:stream';
import { MAX_LINE } from '../../src/logs/framer.js';
import { ServiceLog } from '../../src/logs/relay.js';
import { Sink } from '../../src/logs/sink.js';
import { jsonInto, prefixInto } from '../../src/logs/pipe-reader.js';
import { isUtf8 } from 'node:buffer';
import { framed } from '../helpers/lines.js';

const params = { numRuns: Number(process.env.BERTH_FUZZ_RUNS ?? 100), seed: Number(process.env.BERTH_FUZZ_SEED ?? 7) };
const PREFIX = Buffer.from('web   | ');

/** Bytes with a newline on average every `every` bytes: short lines, and lines across the addon's 32-byte blocks. */
const text = fc.tuple(fc.uint8Array({ maxLength: 600, size: 'max' }), fc.integer({ min: 1, max: 80 })).map(([bytes, every]) => Buffer.from(bytes.map((b) => (b % every === 0 ? 10 : b))));

/** The lines of `lines` (a last one without a newline counts), each after `prefix`, while whole ones fit in `room`. */
function fitting(lines: Buffer, prefix: Buffer, room: number): { read: number; out: Buffer } {
  const parts: Buffer[] = [];
  let read = 0;
  let size = 0;
  while (read < lines.length) {
    const nl = lines.indexOf(10, read);
    const end = nl === -1 ? lines.length : nl + 1;
    if (size + prefix.length + end - read > room) break;
    parts.push(prefix, lines.subarray(read, end));
    size += prefix.length + end - read;
    read = end;
  }
  return { read, out: Buffer.concat(parts) };
}

/** Where the first `n` lines of `lines` end. */
function nthLineEnd(lines: Buffer, n: number): number {
  let end = 0;
  for (let i = 0; i < n; i++) {
    const nl = lines.indexOf(10, end);
    end = nl === -1 ? lines.length : nl + 1;
  }
  return end;
}

test('prefixInto: the prefix before each line, whole lines only, as many as fit', (t) => {
  t.notThrows(() =>
    fc.assert(
      // room for the first `k` lines, give or take a byte or two: the edge of fitting
      fc.property(text, fc.uint8Array({ maxLength: 40 }), fc.nat(), fc.integer({ min: -2, max: 2 }), (lines, prefix, k, give) => {
        const count = lines.length === 0 ? 0 : lines.subarray(0, -1).filter((b) => b === 10).length + 1;
        const upTo = lines.subarray(0, count === 0 ? 0 : nthLineEnd(lines, k % (count + 1)));
        const room = Math.max(0, upTo.length + (k % (count + 1)) * prefix.length + give);
        const out = Buffer.alloc(room);
        const [read, written] = prefixInto(lines, Buffer.from(prefix), out);
        const want = fitting(lines, Buffer.from(prefix), room);
        return read === want.read && out.subarray(0, written).equals(want.out);
      }),
      params,
    ),
  );
});

/** Lines for jsonInto: mostly ASCII, long enough for the addon's blocks, a byte to escape, a UTF-8 sequence or an invalid byte anywhere. */
const jsonText = fc
  .array(
    fc.array(fc.oneof({ weight: 40, arbitrary: fc.integer({ min: 0x20, max: 0x7e }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) }, { weight: 1, arbitrary: fc.constantFrom(0x22, 0x5c, 0x09, 0x00) }), { maxLength: 150, size: 'max' }),
    { maxLength: 12 },
  )
  .map((lines) => Buffer.from(lines.flatMap((l) => [...l.filter((b) => b !== 10), 10])))
  .chain((b) => fc.oneof(fc.constant(b), fc.uint8Array({ maxLength: 40 }).map((tail) => Buffer.concat([b, Buffer.from(tail.filter((x) => x !== 10))]))))
  .map((b) => Buffer.from(b.map((x, i) => (i % 97 === 96 && x !== 10 ? 0xc3 : x)))); // some 0xc3 before whatever comes: valid é or not

test('jsonInto: each whole line as head, its text as JSON.stringify writes it, "} and a newline; as many as fit; it stops before a line that is not UTF-8', (t) => {
  t.notThrows(() =>
    fc.assert(
      // heads of any length up to past the four blocks it stores at once; room from none to all of it at its worst
      fc.property(jsonText, fc.string({ unit: fc.constantFrom('a', '"', ':', 'é'), maxLength: 150 }), fc.nat({ max: 6000 }), (lines, headText, room) => {
        const head = Buffer.from(headText);
        const out = Buffer.alloc(room);
        const [read, written, invalid] = jsonInto(lines, head, out);
        const done = lines.subarray(0, read);
        if (read > 0 && done.at(-1) !== 10) return false;
        const objects = done.length ? done.subarray(0, -1).toString('latin1').split('\n').map((l) => Buffer.from(l, 'latin1')) : [];
        const want = Buffer.concat(objects.map((l) => Buffer.concat([head, Buffer.from(JSON.stringify(l.toString()).slice(1, -1)), Buffer.from('"}\n')])));
        if (objects.some((l) => !isUtf8(l)) || !out.subarray(0, written).equals(want)) return false;
        // where it stopped: the end of the whole lines, a line that is not UTF-8, or one that might not have fitted
        const nl = lines.indexOf(10, read);
        if (nl === -1) return !invalid;
        const next = lines.subarray(read, nl);
        if (invalid) return !isUtf8(next);
        return room - written < head.length + 6 * next.length + 3;
      }),
      params,
    ),
  );
});

/**
 * A stream that keeps a copy of what it is given. `slow`: it completes each
 * write only on a later turn and copies it then, so a sink that wrote over a
 * buffer before its write completed is caught; otherwise at once, so the sink
 * reuses its buffer.
 */
function collector(slow: boolean): { stream: Writable; got: () => Buffer } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      const keep = (): void => {
        chunks.push(Buffer.from(chunk));
        done();
      };
      if (slow) setImmediate(keep);
      else keep();
    },
  });
  return { stream, got: () => Buffer.concat(chunks) };
}

/** Relays `input` as the prefixed service `web`, handed over in reads of `sizes` (in turn). */
async function relayPrefixed(input: Buffer, sizes: number[], slow: boolean): Promise<Buffer> {
  const { stream, got } = collector(slow);
  const log = new ServiceLog('web', { format: 'prefix', timestamps: false }, 5);
  const sink = new Sink(stream, () => {});
  const writable = log.writable(sink, false);
  for (let at = 0, i = 0; at < input.length; i++) {
    const size = sizes[i % sizes.length];
    await new Promise((resolve) => writable.write(input.subarray(at, at + size), resolve));
    at += size;
  }
  await new Promise((resolve) => writable.end(resolve));
  await sink.drained();
  return got();
}

// text with newlines, sometimes a line long enough to be cut
const output = fc
  .array(fc.oneof({ weight: 5, arbitrary: text }, { weight: 1, arbitrary: fc.integer({ min: MAX_LINE - 2, max: 2 * MAX_LINE + 5 }).map((n) => Buffer.alloc(n, 0x78)) }), { maxLength: 8 })
  .map((parts) => Buffer.concat(parts));

test('prefix through the relay: every line prefixed, whatever the reads, whether the stream holds its writes or not', async (t) => {
  await t.notThrowsAsync(
    fc.assert(
      fc.asyncProperty(output, fc.array(fc.integer({ min: 1, max: 2 * MAX_LINE }), { minLength: 1, maxLength: 20 }), fc.boolean(), async (input, sizes, slow) =>
        (await relayPrefixed(input, sizes, slow)).equals(framed(input, PREFIX)),
      ),
      { ...params, numRuns: Math.ceil(params.numRuns / 2) },
    ),
  );
});

test('prefix: a line longer than 64 KiB is cut, each piece a prefixed line of its own', async (t) => {
  const input = Buffer.concat([Buffer.alloc(2 * MAX_LINE + 5, 0x78), Buffer.from('\nlast')]);
  const lines = (await relayPrefixed(input, [1000], false)).toString().split('\n');
  t.deepEqual(lines, [`web   | ${'x'.repeat(MAX_LINE)}`, `web   | ${'x'.repeat(MAX_LINE)}`, 'web   | xxxxx', 'web   | last', '']);
});

test('prefix: a read of more than the sink buffer holds goes out in several writes, none written over while the stream holds it', async (t) => {
  const line = `${'0123456789'.repeat(9)}012345678\n`;
  const lines = Buffer.from(line.repeat(30_000)); // 3 MB: with the prefixes, two buffers and a half
  for (const slow of [false, true]) {
    const { stream, got } = collector(slow);
    const sink = new Sink(stream, () => {});
    sink.writePrefixed(lines, PREFIX);
    sink.writePrefixed(Buffer.from('one more\n'), PREFIX);
    await sink.drained();
    t.true(got().equals(framed(Buffer.concat([lines, Buffer.from('one more\n')]), PREFIX)), slow ? 'a stream holding its writes' : 'a stream done at once');
  }
});
