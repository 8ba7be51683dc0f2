import test from 'ava';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { validateCommand } from '../../src/cli/validate.js';
import { UsageError } from '../../src/cli/args.js';
import { repoRoot, tempDir } from '../fixtures/manifest/helpers.js';

const cli = join(repoRoot, 'dist/src/cli/main.js');

function berth(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
    });
  });
}

async function files(t: Parameters<typeof tempDir>[0], contents: Record<string, string>): Promise<string[]> {
  const dir = await tempDir(t);
  return Promise.all(Object.entries(contents).map(async ([name, text]) => {
    await writeFile(join(dir, name), text);
    return join(dir, name);
  }));
}

test('berth validate prints every problem as FILE:LINE:COL: PATH: MESSAGE, a summary, and exits 1', async (t) => {
  const [good, bad] = await files(t, {
    'good.yaml': 'version: 1\nservices:\n  web: { script: x }\n',
    'bad.yaml': 'version: 1\nservices:\n  web:\n    script: x\n    after: [db, web]\n',
  });
  const { code, stdout, stderr } = await berth('validate', good, bad);
  t.is(code, 1);
  t.is(stderr, '');
  t.is(stdout, [
    `${bad}:5:13: services.web.after[0]: unknown service 'db'`,
    `${bad}:5:17: services.web.after[1]: a service cannot start after itself`,
    '2 problems in 1 of 2 files',
    '',
  ].join('\n'));
});

test('berth validate exits 0 and says so when every file is fine', async (t) => {
  const { code, stdout } = await berth('validate', join(repoRoot, 'test/fixtures/manifest/contract.yaml'));
  t.is(code, 0);
  t.is(stdout, '1 file OK\n');
});

test('berth validate without files is a usage error', async (t) => {
  const { code, stderr } = await berth('validate');
  t.is(code, 2);
  t.regex(stderr, /name at least one file to check/);
});

test('validateCommand counts problems and files, and keeps going past unreadable files', async (t) => {
  const [a, b] = await files(t, { 'a.json': '{"version": 1, "services": {}}', 'b.json': '{"version": 1}' });
  let out = '';
  const code = await validateCommand([a, b, join(a, '..', 'missing.yaml')], { write: (s: string) => (out += s) });
  t.is(code, 1);
  t.is(out, [
    `${b}:1:1: services: missing required field 'services'`,
    `${join(a, '..', 'missing.yaml')}:1:1: (file): no such file`,
    '2 problems in 2 of 3 files',
    '',
  ].join('\n'));
  await t.throwsAsync(validateCommand([]), { instanceOf: UsageError });
});

test('validate prints nothing but problem lines: no parser warning for a list used as a key', async (t) => {
  const [file] = await files(t, { 'key.yaml': 'version: 1\nservices:\n  ? [a]\n  : { script: x }\n' });
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.message);
  process.on('warning', onWarning);
  t.teardown(() => process.off('warning', onWarning));
  let out = '';
  t.is(await validateCommand([file], { write: (s: string) => (out += s) }), 1);
  await new Promise((resolve) => setTimeout(resolve, 50)); // Node emits warnings on a later tick
  t.deepEqual(warnings, []);
  t.is(out, `${file}:3:3: services["[ a ]"]: '[ a ]' is not a valid service name (letters, digits, '.', '_', '-'; not digits only)\n1 problem in 1 of 1 file\n`);
});

/**
 * Work counted, not timed: every call of a JavaScript function (V8's precise
 * coverage), the same on any machine however busy. Linear growth is 4x from
 * 5,000 services to 20,000 (n log n 4.7x), quadratic 16x: yaml's duplicate-key
 * check, comparing each service with every one before it, made 15x (and 23 s).
 */
test('validate grows linearly: 20,000 services, each after the one before, cost less than 6 times what 5,000 do', async (t) => {
  t.timeout(300_000);
  const dir = await tempDir(t);
  const write = async (n: number): Promise<{ yaml: string; json: string }> => {
    let yaml = 'version: 1\nservices:\n';
    const services: Record<string, { script: string; after?: string[] }> = {};
    for (let i = 0; i < n; i++) {
      yaml += `  svc-${i}:\n    script: sleep 1\n${i ? `    after: [svc-${i - 1}]\n` : ''}`;
      services[`svc-${i}`] = { script: 'sleep 1', ...(i ? { after: [`svc-${i - 1}`] } : {}) };
    }
    const files = { yaml: join(dir, `m${n}.yaml`), json: join(dir, `m${n}.json`) };
    await writeFile(files.yaml, yaml);
    await writeFile(files.json, JSON.stringify({ version: 1, services }, null, 2));
    return files;
  };
  const [warmUp, small, large] = [await write(2), await write(5000), await write(20_000)];
  const script = `
    import { Session } from 'node:inspector/promises';
    const { validateCommand } = await import(${JSON.stringify(join(repoRoot, 'dist/src/cli/validate.js'))});
    const session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.startPreciseCoverage', { callCount: true, detailed: false });
    const calls = async (file) => {
      await session.post('Profiler.takePreciseCoverage'); // and the counts start again from 0
      if (await validateCommand([file], { write() {} }) !== 0) throw new Error(file + ' has problems');
      const { result } = await session.post('Profiler.takePreciseCoverage');
      return result.reduce((sum, script) => sum + script.functions.reduce((n, f) => n + f.ranges[0].count, 0), 0);
    };
    const [warmUp, small, large] = process.argv.slice(1);
    await calls(warmUp); // what a first file loads (the image modules, to tell a definition from a manifest)
    console.log(JSON.stringify({ small: await calls(small), large: await calls(large) }));`;
  for (const format of ['yaml', 'json'] as const) {
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script, warmUp[format], small[format], large[format]]);
    const calls = JSON.parse(stdout) as { small: number; large: number };
    const ratio = calls.large / calls.small;
    t.log(`${format}: ${calls.small} calls for 5,000 services, ${calls.large} for 20,000: ${ratio.toFixed(2)}x`);
    t.true(ratio < 6, `${format}: ${ratio.toFixed(2)}x`);
  }
});

test('a definition whose only option is copy: is checked as an image definition (every image-only option counts)', async (t) => {
  const [image] = await files(t, { 'image.yaml': 'copy:\n  /app: ./missing\n' });
  const { code, stdout } = await berth('validate', image);
  t.is(code, 1);
  t.regex(stdout, /image\.yaml:2:\d+: copy\["\/app"\]/, stdout);
});
