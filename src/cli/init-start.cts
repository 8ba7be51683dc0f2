// What /init runs: the init bundle (init.bundle.cjs), compiled from V8's code
// cache for it, init.bundle.cache. Compiling the 160 KB bundle cost PID 1
// ~4 ms before its first spawn; the cache saves ~3 of them.
//   node FLAGS init-start.cjs init [ARG...]   /init: the bundle as the main program
//   node FLAGS init-start.cjs --write-cache   writes the cache for this node and these FLAGS
// V8 takes a cache only from the same node and the same flags, so it is written
// by `npm run build` and again by Dockerfile.base with the image's node, both
// with runtime/init's flags. A missing or rejected cache costs those ms and
// nothing else (the bundle compiles from source); BERTH_DEBUG=1 says which.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Script } from 'node:vm';

const bundle = join(__dirname, 'init.bundle.cjs');
const cacheFile = join(__dirname, 'init.bundle.cache');

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

if (process.argv[2] === '--write-cache') {
  writeFileSync(cacheFile, compile().createCachedData());
} else {
  const cached = readCache();
  const script = compile(cached);
  if (process.env.BERTH_DEBUG) {
    const state = !cached ? 'missing' : script.cachedDataRejected ? 'rejected (made by another node or with other node flags)' : 'used';
    process.stderr.write(`berth: code cache ${cacheFile} ${state}\n`);
  }
  // the bundle's own checks see it as the main module, loaded from its own path
  script.runInThisContext()(module.exports, require, module, bundle, __dirname);
}
