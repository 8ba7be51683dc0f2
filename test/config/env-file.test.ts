// Env files (dotenv's format, nothing executed), secret files, FILE__NAME
// secrets: on real files, every refusal one line naming the path and why.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MAX_FILE_BYTES, readEnvFile, readSecretFile, secretsFromEnv } from '../../src/config/env-file.js';

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'berth-config-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function file(dir: string, name: string, content: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

test('an env file: quotes, comments, multiline values, export, and nothing expanded or run', (t) => {
  const dir = tempDir(t);
  const path = file(dir, '.env', [
    '# a comment',
    'PLAIN=value',
    '  SPACED = trimmed   # a comment after',
    'export EXPORTED=yes',
    'HASH=a#b',
    'QUOTED_HASH="a # b"',
    "SINGLE='literal \\n $HOME'",
    'DOUBLE="line\\nbreak"',
    'MULTI="first',
    'second"',
    'BACKTICK=`id -u`',
    'SUBST=$(touch ' + join(dir, 'ran') + ')',
    'BRACES=${HOME}',
    'EMPTY=',
    'JUSTAKEY',
    'TWO WORDS=x',
    'dotted.key-name=ok',
    'DUP=first',
    'DUP=last',
    '',
  ].join('\n'));
  t.deepEqual(readEnvFile(path), {
    ok: true,
    vars: {
      PLAIN: 'value',
      SPACED: 'trimmed',
      EXPORTED: 'yes',
      HASH: 'a',
      QUOTED_HASH: 'a # b',
      SINGLE: 'literal \\n $HOME',
      DOUBLE: 'line\nbreak',
      MULTI: 'first\nsecond',
      BACKTICK: 'id -u',
      SUBST: `$(touch ${join(dir, 'ran')})`,
      BRACES: '${HOME}',
      EMPTY: '',
      'dotted.key-name': 'ok',
      DUP: 'last',
    },
  });
  t.false(existsSync(join(dir, 'ran')), 'nothing ran');
});

test('CRLF, a lone CR and a BOM read as LF and nothing', (t) => {
  const dir = tempDir(t);
  t.deepEqual(readEnvFile(file(dir, 'crlf.env', '\uFEFFA=1\r\nB="x\r\ny"\r\nC=3\rD=4\r\n')), { ok: true, vars: { A: '1', B: 'x\ny', C: '3', D: '4' } });
});

test('an empty env file has no variables', (t) => {
  t.deepEqual(readEnvFile(file(tempDir(t), 'empty.env', '')), { ok: true, vars: {} });
});

const readers = { readEnvFile, readSecretFile };

for (const [name, read] of Object.entries(readers)) {
  test(`${name}: a missing file, a directory, a FIFO, a device and a bad path component are errors naming the path`, (t) => {
    const dir = tempDir(t);
    const fifo = join(dir, 'fifo');
    t.is(spawnSync('mkfifo', [fifo]).status, 0);
    const notDir = file(dir, 'plain', 'x');
    t.deepEqual(read(join(dir, 'missing')), { ok: false, error: `${join(dir, 'missing')}: ENOENT (no such file)` });
    t.deepEqual(read(dir), { ok: false, error: `${dir}: EISDIR (a directory, not a file)` });
    t.deepEqual(read(fifo), { ok: false, error: `${fifo}: a FIFO (named pipe), not a regular file` });
    t.deepEqual(read('/dev/zero'), { ok: false, error: '/dev/zero: a character device, not a regular file' });
    t.deepEqual(read(join(notDir, 'x')), { ok: false, error: `${join(notDir, 'x')}: ENOTDIR (a part of the path is not a directory)` });
  });

  test(`${name}: at most 1 MiB, and the error says so`, (t) => {
    const dir = tempDir(t);
    t.is(MAX_FILE_BYTES, 2 ** 20);
    const at = file(dir, 'at', `A=${'x'.repeat(MAX_FILE_BYTES - 3)}\n`);
    t.true(read(at).ok);
    const over = file(dir, 'over', `A=${'x'.repeat(MAX_FILE_BYTES - 2)}\n`);
    const what = name === 'readEnvFile' ? 'an env file' : 'a secret file';
    t.deepEqual(read(over), { ok: false, error: `${over}: larger than 1 MiB, the most Berth reads for ${what} (is it the right file?)` });
  });

  test(`${name}: a NUL byte or text that is not UTF-8 is refused`, (t) => {
    const dir = tempDir(t);
    const nul = file(dir, 'nul', 'A=a\0b\n');
    t.deepEqual(read(nul), { ok: false, error: `${nul}: a NUL byte at offset 3 (binary data?), which no environment variable can hold` });
    const latin1 = file(dir, 'latin1', Buffer.from('A=caf\xe9\n', 'latin1'));
    t.deepEqual(read(latin1), { ok: false, error: `${latin1}: not UTF-8 text` });
  });
}

test('an env file with U+2028 or U+2029 is refused at its line', (t) => {
  const dir = tempDir(t);
  const path = file(dir, 'sep.env', 'A=1\n# fine\nB="x\u2029y"\n');
  t.deepEqual(readEnvFile(path), { ok: false, error: `${path}: line 3 holds U+2029, a Unicode line separator that env files cannot hold` });
});

// Root reads every file whatever its mode: then the case runs as nobody (uid 65534), in a child.
const unreadable = (dir: string): string => {
  chmodSync(dir, 0o755);
  const path = file(dir, 'secret', 'A=1\n');
  chmodSync(path, 0o000);
  return path;
};
const envFileModule = fileURLToPath(new URL('../../src/config/env-file.js', import.meta.url));
const asRoot = process.getuid?.() === 0;
const asNobody = (path: string): { status: number | null; stdout: string; stderr: string } => spawnSync(process.execPath, [
  '--input-type=module', '-e',
  `import { readEnvFile, readSecretFile } from ${JSON.stringify(envFileModule)}; console.log(JSON.stringify([readEnvFile(${JSON.stringify(path)}), readSecretFile(${JSON.stringify(path)})]))`,
], { uid: 65534, gid: 65534, encoding: 'utf8' });
const nobodyCanRun = !asRoot || asNobody('/nonexistent').status === 0;

(nobodyCanRun ? test : test.skip)(`an unreadable file is EACCES${nobodyCanRun ? '' : ' (skipped: as root every file is readable, and uid 65534 cannot run node on this checkout)'}`, (t) => {
  const dir = tempDir(t);
  const path = unreadable(dir);
  const denied = { ok: false, error: `${path}: EACCES (permission denied)` };
  if (!asRoot) {
    t.deepEqual(readEnvFile(path), denied);
    t.deepEqual(readSecretFile(path), denied);
    return;
  }
  const child = asNobody(path);
  t.is(child.status, 0, child.stderr);
  t.deepEqual(JSON.parse(child.stdout), [denied, denied]);
});

test('a secret file loses exactly one trailing newline, LF or CRLF, and nothing else', (t) => {
  const dir = tempDir(t);
  const cases: [string, string][] = [
    ['hunter2\n', 'hunter2'],
    ['hunter2\r\n', 'hunter2'],
    ['hunter2', 'hunter2'],
    ['hunter2\n\n', 'hunter2\n'],
    ['hunter2\r', 'hunter2\r'],
    ['\n', ''],
    ['', ''],
    ['  spaced  \n', '  spaced  '],
    ['-----BEGIN KEY-----\nabc\n-----END KEY-----\n', '-----BEGIN KEY-----\nabc\n-----END KEY-----'],
    ['\uFEFFbom\n', '\uFEFFbom'],
    ['$(id) ${HOME} `id`\n', '$(id) ${HOME} `id`'],
  ];
  cases.forEach(([content, value], i) => t.deepEqual(readSecretFile(file(dir, `s${i}`, content)), { ok: true, value }, JSON.stringify(content)));
});

test('FILE__NAME=path gives NAME the content of path; from lists the FILE__ keys', (t) => {
  const dir = tempDir(t);
  const db = file(dir, 'db', 's3cret\n');
  const api = file(dir, 'api', 'key\nwith lines\r\n');
  t.deepEqual(secretsFromEnv({ PATH: '/bin', FILE__DB_PASSWORD: db, FILE__API_KEY: api, NOT_FILE__X: '/nope', FILE_X: '/nope', UNSET: undefined, FILE__GONE: undefined }), {
    ok: true,
    vars: { DB_PASSWORD: 's3cret', API_KEY: 'key\nwith lines' },
    from: ['FILE__DB_PASSWORD', 'FILE__API_KEY'],
  });
  t.deepEqual(secretsFromEnv({ PATH: '/bin' }), { ok: true, vars: {}, from: [] });
  const odd = secretsFromEnv({ FILE____proto__: db });
  t.true(odd.ok && Object.hasOwn(odd.vars, '__proto__') && Object.entries(odd.vars).join() === '__proto__,s3cret', 'a valid name, even this one, is kept');
});

test('every bad FILE__ entry is a problem naming the variable and the path', (t) => {
  const dir = tempDir(t);
  const good = file(dir, 'good', 'x');
  const missing = join(dir, 'missing');
  t.deepEqual(secretsFromEnv({ FILE__OK: good, FILE__1X: good, 'FILE__A-B': '/p', FILE__: '/q', FILE__GONE: missing, FILE__DIR: dir, FILE__BLANK: '' }), {
    ok: false,
    problems: [
      `FILE__1X=${good}: '1X' is not a variable name (letters, digits and _, not starting with a digit)`,
      "FILE__A-B=/p: 'A-B' is not a variable name (letters, digits and _, not starting with a digit)",
      "FILE__=/q: '' is not a variable name (letters, digits and _, not starting with a digit)",
      `FILE__GONE: ${missing}: ENOENT (no such file)`,
      `FILE__DIR: ${dir}: EISDIR (a directory, not a file)`,
      'FILE__BLANK is empty: give the path of the file that holds BLANK',
    ],
  });
});

// dotenv's default parser takes 18 s over 64 KiB of blank lines (and minutes over 1 MiB); a U+2028 line is slow even in its scanner.
test('1 MiB env files of the worst shapes are read, or refused, in linear time', (t) => {
  const dir = tempDir(t);
  const fill = (unit: string): string => unit.repeat(Math.floor(MAX_FILE_BYTES / Buffer.byteLength(unit)));
  const shapes = {
    'blank lines': fill('\n'),
    'blank lines, then a key': `${fill('\n').slice(3)}A=1`,
    'a key, then blank lines': `A${fill('\n').slice(1)}`,
    'spaces and line ends': fill(' \n'),
    'escaped quotes': fill('A="\\"\n'),
    'quotes never closed': fill("A='x\n"),
    'a value of U+2028 and quotes': `A=${fill("'x\u2028").slice(3)}`,
  };
  for (const [shape, text] of Object.entries(shapes)) {
    const path = file(dir, 'big.env', text);
    const started = process.hrtime.bigint();
    const read = readEnvFile(path);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    t.log(`${shape}: ${ms.toFixed(1)} ms, ${read.ok ? `${Object.keys(read.vars).length} variables` : read.error.slice(path.length + 2)}`);
    t.true(ms < 2000, `${shape}: ${ms} ms`);
  }
});
