// The status page's document: one file, nothing from another origin, and a
// Content-Security-Policy that lets in exactly its own style and script.
import test from 'ava';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { formatBytes, formatDuration } from '../../src/control/status-rows.js';
import { loadDocument } from '../../src/page/document.js';
import { root } from '../helpers/init.js';

const source = readFileSync(join(root, 'src/page/page.html'), 'utf8');
/** what npm run build made of it: the policy, and the status table's duration and size functions written into the script */
const built = readFileSync(join(root, 'dist/src/page/page.html'), 'utf8');
const sha = (text: string): string => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

test('the CSP, written in by the build, allows the page its own inline style and script by their hashes, and everything else only from its origin', (t) => {
  const { csp } = loadDocument();
  const script = /<script>([\s\S]*?)<\/script>/.exec(built)![1];
  const style = /<style>([\s\S]*?)<\/style>/.exec(built)![1];
  t.deepEqual(csp.split('; '), ["default-src 'self'", `script-src ${sha(script)}`, `style-src ${sha(style)}`, "base-uri 'none'", "form-action 'none'"]);
  t.true(loadDocument().fill({}).includes(`<meta http-equiv="Content-Security-Policy" content="${csp}">`), 'in the document too');
});

test('the document names no other origin, holds one script and one style, no inline handlers or style attributes, and is small', (t) => {
  t.deepEqual(source.match(/\b[a-z][a-z0-9+.-]*:\/\/[^\s'"`)]*/gi), ['http://www.w3.org/2000/svg'], 'no URL but the SVG namespace (a name, never fetched)');
  t.notRegex(source, /\b(?:src|href|action)\s*=\s*["']?\/\//i, 'no protocol-relative link');
  t.notRegex(source, /url\(|@import/, 'the style loads nothing');
  t.deepEqual([...source.matchAll(/fetch\((['`][^'`]*['`])/g)].map((m) => m[1]), ["'status.json'", '`logs/${encodeURIComponent(name)}`'], 'fetches go to this origin');
  t.is(source.match(/<script\b/g)?.length, 1);
  t.is(source.match(/<style\b/g)?.length, 1);
  t.notRegex(source, /\son[a-z]+\s*=/i, 'no onclick=…: the CSP would block it');
  t.notRegex(source, /\sstyle\s*=/i, 'no style=…: the CSP would block it');
  t.true(Buffer.byteLength(built) < 20 * 1024, `${Buffer.byteLength(built)} bytes`);
});

test('the script says durations and sizes with the functions berth status uses, written in by the build', (t) => {
  t.regex(source, /const duration = \{\{formatDuration\}\};/);
  t.regex(source, /const bytes = \{\{formatBytes\}\};/);
  t.true(built.includes(`const duration = ${formatDuration.toString()};`));
  t.true(built.includes(`const bytes = ${formatBytes.toString()};`));
});

test('filling the marks leaves the script and style as hashed; a mark without a field stays as it is', (t) => {
  const doc = loadDocument();
  const page = doc.fill({ title: 'T', heading: 'H', pid: '1', phase: 'running', uptime: '5s', time: '12:00:00', tableClass: '', rows: '<tr></tr>' });
  t.notRegex(page, /\{\{\w+\}\}/, 'every mark the server knows is filled');
  t.is(/<script>([\s\S]*?)<\/script>/.exec(page)![1], /<script>([\s\S]*?)<\/script>/.exec(built)![1]);
  t.true(doc.fill({}).includes('{{rows}}'));
});

test('a missing document, or the source without its policy, is an error that says what writes the right one', (t) => {
  t.is(t.throws(() => loadDocument(new URL('file:///nonexistent/page.html')))?.message, 'cannot read /nonexistent/page.html (ENOENT); npm run build writes it there');
  const src = join(root, 'src/page/page.html');
  t.is(t.throws(() => loadDocument(pathToFileURL(src)))?.message, `${src} has no Content-Security-Policy; it is the source, not the copy npm run build writes with its policy`);
});
