// readRegularFile and writeFileAtomically: small files read and written
// whole in one call each, on real files, FIFOs and devices.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readRegularFile, writeFileAtomically } from '../../src/native/files.js';

function dir(t: { teardown(f: () => void): void }): string {
  const d = mkdtempSync(join(tmpdir(), 'berth-native-files-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

test('a regular file is read whole; past the limit it gives limit + 1 bytes', (t) => {
  const d = dir(t);
  const file = join(d, 'f');
  writeFileSync(file, 'hello\nworld\n');
  t.deepEqual(readRegularFile(file, 1024), { bytes: Buffer.from('hello\nworld\n') });
  t.deepEqual(readRegularFile(file, 5), { bytes: Buffer.from('hello\n') });
  writeFileSync(file, '');
  t.deepEqual(readRegularFile(file, 1024), { bytes: Buffer.alloc(0) });
  const big = Buffer.alloc(300_000, 'x');
  writeFileSync(file, big);
  t.deepEqual(readRegularFile(file, 1 << 20), { bytes: big });
});

test('a file that grows past its size as read is still read to its end (a /proc file says size 0)', (t) => {
  const r = readRegularFile('/proc/self/status', 1 << 20);
  t.true('bytes' in r && r.bytes.toString().includes('Pid:'), JSON.stringify(r).slice(0, 200));
});

test('a directory, a FIFO and a device are refused without being opened; a missing path says ENOENT', (t) => {
  const d = dir(t);
  t.deepEqual(readRegularFile(d, 1024), { notRegular: 'directory' });
  const fifo = join(d, 'fifo');
  execFileSync('mkfifo', [fifo]);
  // would block forever if opened without a writer
  t.deepEqual(readRegularFile(fifo, 1024), { notRegular: 'FIFO' });
  t.deepEqual(readRegularFile('/dev/null', 1024), { notRegular: 'character device' });
  t.deepEqual(readRegularFile(join(d, 'nothing'), 1024), { errno: 'ENOENT' });
  t.deepEqual(readRegularFile(join(d, 'fifo', 'x'), 1024), { errno: 'ENOTDIR' });
});

test('a file is written through its temp with the mode given, the temp gone', (t) => {
  const d = dir(t);
  const file = join(d, 'out');
  t.is(writeFileAtomically(join(d, '.out.tmp'), file, 0o640, undefined, Buffer.from('one')), 'written');
  t.is(readFileSync(file, 'utf8'), 'one');
  t.is(statSync(file).mode & 0o7777, 0o640);
  // over an existing file, which keeps nothing of its old mode
  t.is(writeFileAtomically(join(d, '.out.tmp'), file, 0o600, undefined, Buffer.from('two')), 'written');
  t.is(readFileSync(file, 'utf8'), 'two');
  t.is(statSync(file).mode & 0o7777, 0o600);
  t.deepEqual(readdirSync(d), ['out']);
  // the same bytes and mode again: nothing is written (the inode stays), and a different mode or byte is written
  const inode = statSync(file).ino;
  t.is(writeFileAtomically(join(d, '.out.tmp'), file, 0o600, undefined, Buffer.from('two')), 'unchanged');
  t.is(statSync(file).ino, inode);
  t.is(writeFileAtomically(join(d, '.out.tmp'), file, 0o644, undefined, Buffer.from('two')), 'written');
  t.not(statSync(file).ino, inode);
  t.is(writeFileAtomically(join(d, '.out.tmp'), file, 0o644, undefined, Buffer.from('twO')), 'written');
  t.is(writeFileAtomically(join(d, '.out.tmp'), file, 0o644, undefined, Buffer.from('twO!')), 'written');
  t.is(readFileSync(file, 'utf8'), 'twO!');
});

const asRoot = process.getuid?.() === 0 ? test : test.skip;

asRoot('given an owner, the file is theirs (needs root)', (t) => {
  const d = dir(t);
  const file = join(d, 'owned');
  t.is(writeFileAtomically(join(d, '.owned.tmp'), file, 0o400, { uid: 4321, gid: 4322 }, Buffer.from('x')), 'written');
  const st = statSync(file);
  t.deepEqual([st.uid, st.gid, st.mode & 0o7777], [4321, 4322, 0o400]);
});

test('a write that fails leaves the old file as it was and no temp', (t) => {
  const d = dir(t);
  const file = join(d, 'kept');
  writeFileSync(file, 'old');
  t.is(writeFileAtomically(join(d, 'missing', '.kept.tmp'), file, 0o600, undefined, Buffer.from('new')), 'ENOENT');
  // the rename fails: a directory is in the way
  mkdirSync(join(d, 'dir'));
  writeFileSync(join(d, 'dir', 'x'), '');
  t.is(writeFileAtomically(join(d, '.dir.tmp'), join(d, 'dir'), 0o600, undefined, Buffer.from('new')), 'EISDIR');
  t.false(existsSync(join(d, '.dir.tmp')));
  t.is(readFileSync(file, 'utf8'), 'old');
  if (process.getuid?.() === 0) return;
  chmodSync(d, 0o500);
  t.is(writeFileAtomically(join(d, '.kept.tmp'), file, 0o600, undefined, Buffer.from('new')), 'EACCES');
});
