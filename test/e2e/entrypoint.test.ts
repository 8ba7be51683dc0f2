// runtime/init, the image's entrypoint, run from this checkout (its /opt/berth
// paths pointed here): node starts without NODE_EXTRA_CA_CERTS, whose CA
// bundle Node would parse before any code runs, and the services get it back;
// the loader it runs compiles the init bundle from its code cache.
import test from 'ava';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initNode, root, run, startInit, tempDir, type Ran } from '../helpers/init.js';

/** startInit's command line, run through a copy of runtime/init that points at this checkout. */
function viaInitScript(argv: string[]): string[] {
  const manifest = argv.indexOf('--manifest');
  const dir = argv[manifest + 1].replace(/\/[^/]+$/, '');
  const script = join(dir, 'init');
  writeFileSync(script, readFileSync(join(root, 'runtime/init'), 'utf8').replaceAll('/opt/berth/', `${root}/`));
  return ['env', `BERTH_STATE_DIR=${join(dir, 'state')}`, 'sh', script, ...argv.slice(manifest)];
}

test('/init starts PID 1 without NODE_EXTRA_CA_CERTS and hands it to the services unchanged', async (t) => {
  const bundle = 'a CA bundle with spaces and $dollars';
  const init = startInit({
    manifest: { version: 1, services: { show: { script: 'echo "got [$NODE_EXTRA_CA_CERTS] stash [${BERTH_NODE_EXTRA_CA_CERTS-none}]"; sleep 30' } } },
    env: { NODE_EXTRA_CA_CERTS: bundle },
    wrap: viaInitScript,
  });
  t.teardown(() => init.cleanup());
  const out = await init.waitFor(/got \[.*\] stash \[.*\]/);
  t.regex(out, new RegExp(`got \\[${bundle.replace(/\$/g, '\\$')}\\] stash \\[none\\]`));
  // what node was started with: /proc's environ is the exec's, not process.env as the init changed it
  const environ = readFileSync(`/proc/${init.proc.pid}/environ`, 'latin1').split('\0');
  t.false(environ.some((e) => e.startsWith('NODE_EXTRA_CA_CERTS=')), 'node started without it');
  t.true(environ.includes(`BERTH_NODE_EXTRA_CA_CERTS=${bundle}`));
  t.true(readFileSync(`/proc/${init.proc.pid}/cmdline`, 'latin1').includes('init-start.cjs'), 'the pid is the init: the script exec’d node');
});

test('/init without NODE_EXTRA_CA_CERTS sets neither variable', async (t) => {
  const init = startInit({
    manifest: { version: 1, services: { show: { script: 'echo "got [${NODE_EXTRA_CA_CERTS-none}] stash [${BERTH_NODE_EXTRA_CA_CERTS-none}]"' } } },
    env: { NODE_EXTRA_CA_CERTS: undefined },
    wrap: viaInitScript,
  });
  t.teardown(() => init.cleanup());
  t.regex(await init.waitFor(/got \[.*\] stash \[.*\]/), /got \[none\] stash \[none\]/);
});

const initFlags = initNode!.flags;

/** /init's node command on a manifest of one service that prints and exits, with BERTH_DEBUG set. */
async function runInitStart(flags: string[]): Promise<Ran> {
  const dir = tempDir();
  try {
    const manifest = join(dir, 'manifest.json');
    writeFileSync(manifest, JSON.stringify({ version: 1, services: { hello: { script: 'echo hello from the service' } } }));
    return await run([process.execPath, ...flags, initNode!.entry, 'init', join(dir, 'state'), '--manifest', manifest], { env: { BERTH_DEBUG: '1' } });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("/init's loader compiles the bundle from the code cache npm run build wrote for /init's flags", async (t) => {
  const r = await runInitStart(initFlags);
  t.is(r.code, 0, r.stdout + r.stderr);
  t.regex(r.stderr, /code cache \S+init\.bundle\.cache used/);
  t.regex(r.stdout, /hello from the service/);
});

test('a cache V8 rejects (other node flags) only costs the compile: the init runs the same', async (t) => {
  const r = await runInitStart([...initFlags, '--stack-size=900']);
  t.is(r.code, 0, r.stdout + r.stderr);
  t.regex(r.stderr, /code cache \S+ rejected \(made by another node or with other node flags\)/);
  t.regex(r.stdout, /hello from the service/);
});
