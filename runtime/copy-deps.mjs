// Build-time helper of Dockerfile.base, not installed in the image:
//   node copy-deps.mjs SRC_DIR DEST_DIR
// Copies the production dependencies of SRC_DIR/package-lock.json from
// SRC_DIR/node_modules to DEST_DIR/node_modules, without what only building
// or other platforms need: C/C++ sources, gyp files and intermediates,
// prebuilt binaries for other systems, docs, tests, type declarations and
// source maps. Needs only node (no npm, no network); fails when a production
// package is missing, and Dockerfile.base then checks the native ones load.
import { cpSync, existsSync, readFileSync, readdirSync, rmdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

const [src, dest] = process.argv.slice(2);
if (!src || !dest) {
  console.error('usage: node copy-deps.mjs SRC_DIR DEST_DIR');
  process.exit(2);
}
const lock = JSON.parse(readFileSync(join(src, 'package-lock.json'), 'utf8'));
const platform = `${process.platform}-${process.arch}`;

// Top-level directories of a package that no Linux runtime needs (only at the
// top: yaml, for one, has code in dist/doc).
const DROP_DIRS = new Set(['deps', 'third_party', 'node-addon-api', 'test', 'tests', '__tests__', 'doc', 'docs', 'example', 'examples', 'scripts', 'vendor']);
// Files by name ending.
const DROP_FILES = /(\.(cc|cpp|c|h|hh|hpp|inc|S|asm|def|gyp|gypi|mk|py|pyc|bat|ps1|sh|exe|dll|pdb|map|md|markdown|ts|tsbuildinfo)|\.test\.js|^Makefile|^CMakeLists\.txt)$/i;

function keep(pkgDir, path) {
  const rel = relative(pkgDir, path).split(sep);
  const name = rel[rel.length - 1];
  const isDir = statSync(path).isDirectory();
  if (rel[0] === 'node_modules') return true; // nested packages are handled by their own entry
  if (rel[0] === 'prebuilds' && rel.length >= 2) return rel[1] === platform;
  // node-gyp's build tree: only the compiled addons
  if (rel[0] === 'build' && rel.length >= 2) return isDir ? rel[1] === 'Release' || rel[1] === 'Debug' : name.endsWith('.node');
  if (isDir) return rel.length > 1 || !DROP_DIRS.has(name);
  if (/^licen[cs]e|^notice|^copying/i.test(name)) return true;
  return !DROP_FILES.test(name) || name === 'package.json';
}

// Packages Berth needs only where images are built (package.json
// "berth.buildOnly": the Kubernetes schema behind `berth build --kube`) stay
// out of the image, with whatever only they depend on.
const manifest = JSON.parse(readFileSync(join(src, 'package.json'), 'utf8'));
const buildOnly = new Set(manifest.berth?.buildOnly ?? []);
const needed = reachable(Object.keys(manifest.dependencies ?? {}).filter((d) => !buildOnly.has(d)));

let count = 0;
for (const [path, entry] of Object.entries(lock.packages ?? {})) {
  if (!path.startsWith('node_modules/') || entry.dev || entry.link || !needed.has(path)) continue;
  const from = join(src, path);
  if (!existsSync(from)) {
    if (entry.optional) continue; // e.g. a native package for another platform
    console.error(`copy-deps: ${path} is missing: run npm ci first`);
    process.exit(1);
  }
  const pkgDir = from;
  cpSync(from, join(dest, path), {
    recursive: true,
    filter: (p) => p === pkgDir || keep(pkgDir, p),
  });
  count++;
}
pruneEmpty(join(dest, 'node_modules'));
console.log(`copy-deps: ${count} production packages for ${platform}`);

/** The lock paths of `roots` and everything they depend on, resolved as Node does (the nearest node_modules upward). */
function reachable(roots) {
  const found = new Set();
  const visit = (from, name) => {
    for (let dir = from; ; ) {
      const path = `${dir ? `${dir}/` : ''}node_modules/${name}`;
      const entry = lock.packages?.[path];
      if (entry) {
        if (found.has(path)) return;
        found.add(path);
        for (const dep of Object.keys({ ...entry.dependencies, ...entry.optionalDependencies, ...entry.peerDependencies })) visit(path, dep);
        return;
      }
      if (!dir) return;
      const up = dir.lastIndexOf('/node_modules/');
      dir = up === -1 ? '' : dir.slice(0, up);
    }
  };
  for (const name of roots) visit('', name);
  return found;
}

function pruneEmpty(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) pruneEmpty(join(dir, e.name));
  if (readdirSync(dir).length === 0) rmdirSync(dir);
}
