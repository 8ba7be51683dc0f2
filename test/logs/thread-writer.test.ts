// The sink's writer thread (writer.c through ThreadWriter), on a real pipe:
// large chunks go out on the thread and small writes around them on the
// stream, all in the order given; the sink blocks while the thread holds
// two chunks; a reader that goes away is told once.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, createReadStream, mkdtempSync, openSync, rmSync, write } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { Sink } from '../../src/logs/sink.js';
import { ThreadWriter } from '../../src/logs/thread-writer.js';

/** A pipe (a FIFO, gone from disk once open), both ends opened through node:fs, which then closes them quietly in a worker. */
function makePipe(): { read: number; write: number } {
  const dir = mkdtempSync(join(tmpdir(), 'berth-thread-writer-'));
  const path = join(dir, 'pipe');
  try {
    execFileSync('mkfifo', [path]);
    // a non-blocking reader first, so the writer's open does not wait; then the blocking one the test reads with
    const probe = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    const write = openSync(path, constants.O_WRONLY);
    const read = openSync(path, constants.O_RDONLY);
    closeSync(probe);
    return { read, write };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A stream that writes to `fd` through the threadpool, one write at a time (as a pipe's net.Socket keeps order); `sizes` gets each write's. */
function fdStream(fd: number, sizes: number[] = []): Writable {
  return new Writable({ write: (chunk: Buffer, _enc, done) => (sizes.push(chunk.length), write(fd, chunk, (err) => done(err))) });
}

/** Everything read from `fd` until EOF. */
function readAll(fd: number): { done: Promise<Buffer>; stream: ReturnType<typeof createReadStream> } {
  const stream = createReadStream('', { fd, highWaterMark: 64 * 1024 });
  const chunks: Buffer[] = [];
  stream.on('data', (d) => chunks.push(d as Buffer));
  return { stream, done: new Promise((resolve) => stream.on('close', () => resolve(Buffer.concat(chunks)))) };
}

test('large chunks on the thread and small writes on the stream arrive whole and in order; blocked while the thread holds two chunks', async (t) => {
  const pipe = makePipe();
  const onStream: number[] = [];
  const sink = new Sink(fdStream(pipe.write, onStream), () => t.fail('the reader is there'), undefined, undefined, pipe.write);
  const reader = readAll(pipe.read);
  reader.stream.pause(); // the pipe fills: the thread waits in its write
  const written: Buffer[] = [];
  // large ones as formatted chunks (what a prefix or json relay writes): the thread's
  const put = (data: Buffer): boolean => (written.push(data), sink.write(data, undefined, data.length >= 64 * 1024));
  put(Buffer.from('first, on the stream\n'));
  await sink.drained();
  t.true(put(Buffer.alloc(300 * 1024, 'a')), 'one chunk on the thread: more is welcome');
  t.true(sink.holding, 'its buffer is the thread\'s until written');
  t.false(sink.spliceable(), 'nothing may overtake it');
  put(Buffer.from('small, behind it\n'));
  t.false(put(Buffer.alloc(300 * 1024, 'b')), 'the thread holds two chunks (and a small write): blocked');
  t.true(sink.blocked);
  const resumed = new Promise<void>((resolve) => sink.whenDrained(resolve));
  await sleep(200);
  t.true(sink.blocked, 'still blocked while nobody reads');
  reader.stream.resume();
  await resumed;
  for (let i = 0; i < 20; i++) put(Buffer.alloc(100 * 1024 + i, 0x61 + (i % 26)));
  put(Buffer.from('last\n'));
  await sink.drained();
  t.false(sink.holding);
  closeSync(pipe.write);
  t.true((await reader.done).equals(Buffer.concat(written)), 'every byte, in the order written');
  t.deepEqual(onStream.filter((n) => n > 0), [21], 'the stream wrote only the first line: each after it followed a chunk the thread still held');
});

test('a reader that goes away: the thread\'s write fails with EPIPE, said once; what follows is swallowed, and drained() resolves', async (t) => {
  const pipe = makePipe();
  const gone: Error[] = [];
  const sink = new Sink(fdStream(pipe.write), (err) => gone.push(err), undefined, undefined, pipe.write);
  closeSync(pipe.read);
  sink.write(Buffer.alloc(200 * 1024, 'x'), undefined, true);
  await sink.drained();
  t.is(gone.length, 1);
  t.is((gone[0] as NodeJS.ErrnoException).code, 'EPIPE');
  t.true(sink.write(Buffer.alloc(200 * 1024, 'y'), undefined, true), 'swallowed: the relays read on');
  t.false(sink.blocked);
  await sink.drained();
  t.is(gone.length, 1, 'said once');
  closeSync(pipe.write);
});

test('ThreadWriter: each chunk\'s done in order, then whenIdle; pendingChunks counts what is not yet out', async (t) => {
  const pipe = makePipe();
  const reader = readAll(pipe.read);
  const order: string[] = [];
  const writer = new ThreadWriter(pipe.write, () => {}, () => t.fail('the reader is there'));
  for (const name of ['one', 'two', 'three']) t.true(writer.write(Buffer.alloc(100 * 1024, name[0]), () => order.push(name)));
  t.is(writer.pendingChunks, 3);
  await new Promise<void>((resolve) => writer.whenIdle(resolve));
  t.deepEqual(order, ['one', 'two', 'three']);
  t.is(writer.pendingChunks, 0);
  closeSync(pipe.write);
  t.is((await reader.done).length, 300 * 1024);
});
