// `copy:`: merged across imports (the later file wins a target), sources
// relative to the file that names them, a deterministic build context, and
// every bad input one located problem.
import test, { type ExecutionContext } from 'ava';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { checkTarget } from '../../src/image/copy.js';
import { writeBuildContext } from '../../src/image/context.js';
import { berth, evaluate, tempDir, writeFiles } from '../fixtures/image/helpers.js';

const ACCOUNTS = 'users:\n  users:\n    app: { isSystemUser: true }\n';

test('a directory and a file go to their targets, the file with its mode and owner; COPY --chown comes after the accounts', async (t) => {
  const { build, problems } = await evaluate(t, {
    'image.yaml': `${ACCOUNTS}copy:\n  /app: ./app\n  /app/config.json: { source: ./config.json, mode: "0640", owner: app }\n`,
    'app/server.mjs': 'server\n',
    'app/lib/util.mjs': 'util\n',
    'config.json': '{}\n',
  });
  t.deepEqual(problems, []);
  t.deepEqual(build!.copy.map((c) => [c.target, c.directory, c.owner, c.items.map((i) => [i.relative, i.mode])]), [
    ['/app', true, undefined, [['lib/util.mjs', 0o644], ['server.mjs', 0o644]]],
    ['/app/config.json', false, 'app:app', [['', 0o640]]],
  ]);
  const out = join(await tempDir(t), 'ctx');
  writeBuildContext(build!, out, 'image.yaml');
  const dockerfile = await readFile(join(out, 'Dockerfile'), 'utf8');
  t.regex(dockerfile, /RUN \["berth", "apply-accounts", "\/etc\/berth\/accounts.json"\]\nCOPY copy\/0\/ \/app\/\nCOPY --chown=app:app copy\/1 \/app\/config.json\n/);
  t.is((await stat(join(out, 'copy/1'))).mode & 0o777, 0o640);
  t.is(await readFile(join(out, 'copy/0/lib/util.mjs'), 'utf8'), 'util\n');
});

test('executable bits are kept as 0755; other modes on disk are normalised to 0644', async (t) => {
  const dir = await writeFiles(t, { 'image.yaml': 'copy:\n  /bin/tool: ./tool\n  /srv: ./srv\n', tool: '#!/bin/sh\n', 'srv/a': 'a', 'srv/b': 'b' });
  await chmod(join(dir, 'tool'), 0o700);
  await chmod(join(dir, 'srv/a'), 0o600);
  await chmod(join(dir, 'srv/b'), 0o775);
  const { evaluateImage } = await import('../../src/image/evaluate.js');
  const build = evaluateImage(join(dir, 'image.yaml')).build!;
  t.deepEqual(build.copy.map((c) => c.items.map((i) => i.mode)), [[0o755], [0o644, 0o755]]);
});

/** image.yaml imports common/base.yaml; each names /srv/motd with a ./motd of its own directory. */
async function imported(t: ExecutionContext, mine: string, base: string) {
  const { build, problems } = await evaluate(t, {
    'image.yaml': `imports: [common/base.yaml]\ncopy:\n${mine}`, motd: 'mine\n',
    'common/base.yaml': `copy:\n${base}`, 'common/motd': 'base\n',
  });
  t.deepEqual(problems, []);
  return build!.copy.map((c) => [c.target, c.items[0].content.toString()]);
}

test('across imports: each source resolves beside the file that names it, and the importing file wins a shared target', async (t) => {
  t.deepEqual(await imported(t, '  /srv/motd: ./motd\n', '  /srv/motd: ./motd\n  /srv/base: ./motd\n'), [['/srv/base', 'base\n'], ['/srv/motd', 'mine\n']]);
});

test('an explicit !default in the importing file yields to the imported one', async (t) => {
  t.deepEqual(await imported(t, '  /srv/motd: !default ./motd\n', '  /srv/motd: ./motd\n'), [['/srv/motd', 'base\n']]);
});

test('every bad input is one located problem with a fix', async (t) => {
  const { dir, problems } = await evaluate(t, {
    'app/image.yaml': [
      ACCOUNTS.trimEnd(),
      'copy:',
      '  relative/x: ./ok',
      '  /: ./ok',
      '  /proc/x: ./ok',
      '  /sys: ./ok',
      '  /dev/null: ./ok',
      '  /missing: ./missing',
      '  /mode: { source: ./ok, mode: "999" }',
      '  /owner: { source: ./ok, owner: nobody1 }',
      '  /group: { source: ./ok, owner: "app:nogroup" }',
      '  /up: ../secret',
      '  /link: ./link',
      '  /dirmode: { source: ./dir, mode: "0600" }',
      '  /etc/berth/manifest.json: ./ok',
      '  /fine: ./ok',
      '',
    ].join('\n'),
    'app/ok': 'ok',
    'app/dir/f': 'f',
    secret: 'secret',
  }, 'app/image.yaml');
  await symlink(join(dir, 'secret'), join(dir, 'app/link'));
  const { evaluateImage } = await import('../../src/image/evaluate.js');
  const all = evaluateImage(join(dir, 'app/image.yaml')).problems.map((p) => `${p.file.replace(`${dir}/`, '')}:${p.line}:${p.col}: ${p.path}: ${p.message}`);
  // The schema's own check (the mode) stops evaluation before the rest, as for every option.
  t.deepEqual(problems, ['app/image.yaml:11:32: copy["/mode"].mode: expected an octal mode like 0640, got the string "999"']);
  t.deepEqual(all, problems);
  await writeFile(join(dir, 'app/image.yaml'), (await readFile(join(dir, 'app/image.yaml'), 'utf8')).replace('"999"', '"0600"'));
  const rest = evaluateImage(join(dir, 'app/image.yaml')).problems.map((p) => `${p.line}:${p.col}: ${p.path}: ${p.message}`);
  t.deepEqual(rest.map((r) => r.replace(/\/tmp\/\S+/g, 'TMP')), [
    "5:3: copy[\"relative/x\"]: target 'relative/x' must be an absolute path in the image (like /app)",
    "6:3: copy[\"/\"]: target '/' would replace the whole file system; name a directory like /app",
    "7:3: copy[\"/proc/x\"]: target '/proc/x' is under /proc, which the kernel provides at run time; copy it elsewhere (like /app)",
    "8:3: copy[\"/sys\"]: target '/sys' is under /sys, which the kernel provides at run time; copy it elsewhere (like /app)",
    "9:3: copy[\"/dev/null\"]: target '/dev/null' is under /dev, which the kernel provides at run time; copy it elsewhere (like /app)",
    '10:13: copy["/missing"]: no such file or directory: TMP',
    "12:34: copy[\"/owner\"].owner: unknown user 'nobody1'; declare it in users.users, or use root or a uid",
    "13:34: copy[\"/group\"].owner: unknown group 'nogroup'; declare it in users.groups, or use root or a gid",
    "14:8: copy[\"/up\"]: '../secret' is outside TMP the directory of the file that names it; sources must stay inside it (no '..', no absolute paths elsewhere, no symlinks out)",
    "15:10: copy[\"/link\"]: './link' is outside TMP the directory of the file that names it; sources must stay inside it (no '..', no absolute paths elsewhere, no symlinks out)",
    "16:36: copy[\"/dirmode\"].mode: 'mode' applies to a single file; a directory's files keep their own (0644, or 0755 when executable): remove it, or name the file as its own target",
    '17:3: copy["/etc/berth/manifest.json"]: /etc/berth/manifest.json is written by Berth itself; choose another target',
  ]);
});

test('a file target cannot hold another target', async (t) => {
  const { problems } = await evaluate(t, { 'image.yaml': 'copy:\n  /a: ./f\n  /a/b: ./f\n', f: 'f' });
  t.deepEqual(problems, ['image.yaml:3:3: copy["/a/b"]: /a is a file, but /a/b needs it to be a directory; copy a directory there, or move one target']);
});

/** Every file of a context: path, mode, mtime and a hash of the bytes. */
async function snapshot(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string) => {
    for (const name of (await readdir(join(dir, rel))).sort()) {
      const path = rel ? `${rel}/${name}` : name;
      const info = await stat(join(dir, path));
      if (info.isDirectory()) { out.push(`${path}/ ${(info.mode & 0o777).toString(8)} ${path.startsWith('copy') ? info.mtimeMs : ''}`); await walk(path); continue; }
      const hash = createHash('sha256').update(await readFile(join(dir, path))).digest('hex');
      out.push(`${path} ${(info.mode & 0o777).toString(8)} ${path.startsWith('copy') ? info.mtimeMs : ''} ${hash}`);
    }
  };
  await walk('');
  return out;
}

test('determinism: building twice gives identical contexts, copied files with mtime 0', async (t) => {
  const dir = await writeFiles(t, {
    'image.yaml': `${ACCOUNTS}copy:\n  /app: ./app\n  /app/config.json: { source: ./config.json, owner: app }\n`,
    'app/z.mjs': 'z', 'app/a/b.mjs': 'b', 'config.json': '{}',
  });
  const a = join(dir, 'out-a');
  const b = join(dir, 'out-b');
  t.is((await berth(['build', join(dir, 'image.yaml'), '-o', a])).code, 0);
  await writeFile(join(dir, 'app/z.mjs'), 'z'); // a new mtime on disk, same bytes
  t.is((await berth(['build', join(dir, 'image.yaml'), '-o', b])).code, 0);
  const first = await snapshot(a);
  t.deepEqual(first, await snapshot(b));
  t.true(first.some((line) => line.startsWith('copy/0/z.mjs 644 0 ')));
  t.true(first.some((line) => line.startsWith('copy/0/a/ 755 0')));
});

test('berth validate reports a copy problem located, and exits 1', async (t) => {
  const dir = await writeFiles(t, { 'image.yaml': 'image: { name: x }\ncopy:\n  /proc/x: ./f\n', f: 'f' });
  const run = await berth(['validate', join(dir, 'image.yaml')]);
  t.is(run.code, 1);
  t.true(`${run.stdout}${run.stderr}`.includes(`${join(dir, 'image.yaml')}:3:3: copy["/proc/x"]: target '/proc/x' is under /proc`), run.stderr + run.stdout);
});

// Property test: a fixed seed, so every run checks the same cases; FUZZ_RUNS=N runs more, with a new seed.
const fuzz = { numRuns: Number(process.env.FUZZ_RUNS ?? 300), seed: process.env.FUZZ_RUNS ? Date.now() : 12 };

test('property: an accepted target is absolute, normalised, safe for the Dockerfile and outside /proc, /sys, /dev', (t) => {
  const segment = fc.oneof(fc.constantFrom('', '.', '..', 'proc', 'sys', 'dev', 'app', 'etc', 'a b', '$x', 'x"y'), fc.string({ maxLength: 4 }));
  fc.assert(fc.property(fc.boolean(), fc.array(segment, { maxLength: 4 }), (absolute, parts) => {
    const target = `${absolute ? '/' : ''}${parts.join('/')}`;
    if (checkTarget(target) !== undefined) return;
    const segments = target.slice(1).split('/');
    if (!/^\/[A-Za-z0-9._\/@+-]+$/.test(target)) throw new Error(`unsafe target accepted: ${JSON.stringify(target)}`);
    if (segments.some((s) => s === '' || s === '.' || s === '..')) throw new Error(`unnormalised target accepted: ${target}`);
    if (['proc', 'sys', 'dev'].includes(segments[0])) throw new Error(`kernel target accepted: ${target}`);
  }), fuzz);
  t.pass();
});

test('an empty source directory still gets its target: the context holds the directory for COPY', async (t) => {
  const dir = await writeFiles(t, { 'image.yaml': 'copy:\n  /data: ./data\n' });
  await mkdir(join(dir, 'data'));
  const out = join(dir, 'ctx');
  t.is((await berth(['build', join(dir, 'image.yaml'), '-o', out])).code, 0);
  t.regex(await readFile(join(out, 'Dockerfile'), 'utf8'), /^COPY copy\/0\/ \/data\/$/m);
  t.true((await stat(join(out, 'copy/0'))).isDirectory());
});
