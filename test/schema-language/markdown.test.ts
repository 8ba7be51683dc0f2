// The generated references (docs/manifest.md, docs/options.md): every
// object-typed field links to its own section, and every link lands.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { root } from '../helpers/init.js';

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to dashes. */
const anchorOf = (heading: string): string => heading.toLowerCase().replace(/[^a-z0-9 _-]/g, '').replace(/ /g, '-');

for (const doc of ['docs/manifest.md', 'docs/options.md']) {
  test(`${doc}: no field is a bare "object", and every link to a section lands on a heading`, (t) => {
    const text = readFileSync(join(root, doc), 'utf8');
    t.deepEqual(text.split('\n').filter((l) => /^type: .*\bobject\b(?!\])/.test(l)), [], 'an object type without a link');
    const anchors = new Set([...text.matchAll(/^#+ (.+)$/gm)].map((m) => anchorOf(m[1])));
    const links = [...text.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1]);
    t.true(links.length > 0);
    t.deepEqual(links.filter((a) => !anchors.has(a)), [], 'links without a heading');
  });
}
