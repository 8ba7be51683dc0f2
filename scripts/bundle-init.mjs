// `npm run build` step: bundles `berth init` and everything it loads in the
// same process (dist/src/cli/init-main.js and its imports, dynamic ones
// included) into one CommonJS file, dist/src/cli/init.bundle.cjs, which main.js
// requires and /init runs. Node 20 resolves, reads and links each ES module
// on its own: the ~70 modules of the init path cost PID 1 ~40 ms before its
// first spawn, the one script a few ms (docs/performance-history.md, First spawn).
// Packages stay external (loaded from node_modules when used, as before),
// except dotenv: one 5 kB file, bundled so that the init does not pay ~5 ms to
// resolve and load it, either at start or at its first env file.
// The status page (src/page, loaded on its first request) is a bundle of its
// own, dist/src/page/status-page.cjs, which the init's bundle requires from disk
// then: inside the init's bundle its code would cost PID 1 ~40 kB even with
// BERTH_HTTP off (esbuild hoists a lazily run module's functions to the
// bundle's top level, where V8 makes each one as the bundle is compiled).
// Its document, dist/src/page/page.html, is src/page/page.html with the
// status table's duration and size functions written into its script, and its
// Content-Security-Policy: the hashes of its one style and one script,
// computed here so that PID 1 never loads OpenSSL's hashing for it.
// Then V8's code cache for the bundle, init.bundle.cache, which /init's
// loader (src/cli/init-start.cts) compiles it from: written after a warm run
// of the init by node with runtime/init's flags, the only flags V8 takes it for.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { build } from 'esbuild';

// The modules' createRequire(import.meta.url) is the bundle's own require:
// loading node:module for it cost PID 1 ~1.8 ms before its first spawn.
const ownRequire = {
  name: 'own-require',
  setup(b) {
    b.onResolve({ filter: /^node:module$/ }, () => ({ path: 'node:module', namespace: 'own-require' }));
    b.onLoad({ filter: /.*/, namespace: 'own-require' }, () => ({ contents: 'export const createRequire = () => require;', loader: 'js' }));
  },
};

const bundled = {
  name: 'bundled-packages',
  setup(b) {
    b.onResolve({ filter: /^dotenv$/ }, () => ({ path: createRequire(import.meta.url).resolve('dotenv') }));
  },
};

/** The init's import() of the status page becomes a require() of the page's own bundle, beside it in dist/src/page/. */
const pageApart = {
  name: 'page-apart',
  setup(b) {
    b.onResolve({ filter: /^\.\.\/page\/status-page\.js$/ }, () => ({ path: '../page/status-page.cjs', external: true }));
  },
};

const options = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  packages: 'external',
  // Every module of a bundle sees the bundle's own URL. Their paths
  // relative to it (the addon at ../../../build, packages by require, the
  // page's document) hold because each bundle sits at the same depth,
  // dist/src/DIR/, as they do.
  define: { 'import.meta.url': 'importMetaUrl' },
  banner: { js: "const importMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  // import() becomes require(): the loader compiles the bundle as a vm.Script, which has no ES module loader behind it
  supported: { 'dynamic-import': false },
  logLevel: 'warning',
};
const out = 'dist/src/cli/init.bundle.cjs';
await build({ ...options, entryPoints: ['dist/src/cli/init-main.js'], outfile: out, plugins: [ownRequire, bundled, pageApart] });
await build({ ...options, entryPoints: ['dist/src/page/status-page.js'], outfile: 'dist/src/page/status-page.cjs', plugins: [ownRequire] });

/** The CSP source for the document's one inline <script> or <style>: the SHA-256 of its text. */
function hashOf(html, tag) {
  const found = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(html);
  if (!found || html.split(`<${tag}>`).length !== 2) throw new Error(`src/page/page.html must hold exactly one <${tag}>`);
  return `'sha256-${createHash('sha256').update(found[1]).digest('base64')}'`;
}
// the page says durations and sizes in the words `berth status` uses: the one module's functions, written in
const units = await import('../dist/src/control/status-rows.js');
const page = readFileSync('src/page/page.html', 'utf8')
  .replace('{{formatDuration}}', units.formatDuration.toString())
  .replace('{{formatBytes}}', units.formatBytes.toString());
const csp = [
  "default-src 'self'",
  `script-src ${hashOf(page, 'script')}`,
  `style-src ${hashOf(page, 'style')}`,
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');
writeFileSync('dist/src/page/page.html', page.replace('{{csp}}', csp));

const nodeLine = /^NODE='node\s+(.*?)\s*\/opt\/berth\/\S+'$/m.exec(readFileSync('runtime/init', 'utf8'));
if (!nodeLine) throw new Error("runtime/init has no NODE='node FLAGS /opt/berth/ENTRY' line to take the node flags from");
// the warm run's own lines (an init on a one-service manifest) are of no interest
execFileSync(process.execPath, [...nodeLine[1].split(/\s+/), 'dist/src/cli/init-start.cjs', '--write-cache'], { stdio: ['ignore', 'ignore', 'inherit'] });
