// What /init runs: the init bundle (init.bundle.cjs), compiled from V8's code
// cache for it, init.bundle.cache. Compiling the 160 KB bundle, and then each
// function on its first call, cost PID 1 ~6 ms before its first spawn.
//   node FLAGS init-start.cjs init [ARG...]   /init: the bundle as the main program
//   node FLAGS init-start.cjs --write-cache   runs the init once on a one-service
//                                            manifest and writes the cache at its
//                                            exit, with every function it ran compiled
// V8 takes a cache only from the same node and the same flags, so it is written
// by `npm run build` and again by Dockerfile.base with the image's node, both
// with runtime/init's flags. A missing or rejected cache costs those ms and
// nothing else (the bundle compiles from source); BERTH_DEBUG=1 says which.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Script } from 'node:vm';

const bundle = join(__dirname, 'init.bundle.cjs');
const cacheFile = join(__dirname, 'init.bundle.cache');
/** A run that takes longer than this (it takes well under a second) is stopped, and the cache written all the same. */
const WARM_RUN_MS = 10_000;

/** The bundle as Node's CommonJS loader wraps a module (without loading node:module for its wrap, ~1.8 ms). */
function compile(cachedData?: Buffer): Script {
  const source = `(function (exports, require, module, __filename, __dirname) { ${readFileSync(bundle, 'utf8')}\n});`;
  return new Script(source, { filename: bundle, cachedData });
}

function readCache(): Buffer | undefined {
  try {
    return readFileSync(cacheFile);
  } catch {
    return undefined;
  }
}

/** Runs the bundle as the main program: its own checks see it as the main module, loaded from its own path. */
function run(script: Script): void {
  script.runInThisContext()(module.exports, require, module, bundle, __dirname);
}

if (process.argv[2] === '--write-cache') {
  const script = compile();
  const dir = mkdtempSync(join(tmpdir(), 'berth-code-cache-'));
  // with an env file, a secret file and a rendered file, so that the configuration stage's code is in the cache too
  writeFileSync(join(dir, 'warm.env'), '# a comment\nA=1\nB="two words"\n');
  writeFileSync(join(dir, 'secret'), 'not-a-secret\n');
  const warm = {
    version: 1,
    files: { [join(dir, 'warm.conf')]: { template: 'a = ${A:-1}\nb = ${B}\n' } },
    services: { warm: { execStart: ['/bin/sh', '-c', 'exit 0'], environmentFiles: [join(dir, 'warm.env')], environmentFromFiles: { S: join(dir, 'secret') } } },
  };
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(warm));
  // nothing from the environment may change the run: no HTTP endpoint, no s6-overlay behaviour
  for (const name of Object.keys(process.env)) if (/^(BERTH|S6)_/.test(name)) delete process.env[name];
  process.argv = [process.argv[0], __filename, 'init', join(dir, 'state'), '--manifest', join(dir, 'manifest.json')];
  process.on('exit', () => {
    writeFileSync(cacheFile, script.createCachedData());
    rmSync(dir, { recursive: true, force: true });
  });
  setTimeout(() => process.kill(process.pid, 'SIGTERM'), WARM_RUN_MS).unref();
  run(script);
} else {
  const cached = readCache();
  const script = compile(cached);
  if (process.env.BERTH_DEBUG) {
    const state = !cached ? 'missing' : script.cachedDataRejected ? 'rejected (made by another node or with other node flags)' : 'used';
    process.stderr.write(`berth: code cache ${cacheFile} ${state}\n`);
  }
  run(script);
}
