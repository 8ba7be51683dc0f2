// The package list apt-get installs: pins win, duplicates go, what stays
// unpinned is named. Examples first, then properties over generated lists.
import test from 'ava';
import fc from 'fast-check';
import { installList, pinConflicts, unpinned } from '../../src/image/packages.js';

test('a pinned mention replaces unpinned ones; the list is sorted and without duplicates', (t) => {
  t.deepEqual(installList(['jq', 'curl', 'curl=7.88.1-10', 'jq', 'bash']), ['bash', 'curl=7.88.1-10', 'jq']);
  t.deepEqual(unpinned(['bash', 'curl=7.88.1-10', 'jq']), ['bash', 'jq']);
  t.deepEqual(pinConflicts(['curl=1', 'curl=2', 'jq=1', 'jq=1']), [['curl', ['1', '2']]]);
});

const fuzz = { numRuns: Number(process.env.FUZZ_RUNS ?? 300), seed: process.env.FUZZ_RUNS ? Date.now() : 12 };
const name = fc.constantFrom('curl', 'jq', 'bash', 'nginx', 'libc6');
const pkg = fc.oneof(name, fc.tuple(name, fc.constantFrom('1.0', '2.0-1', '3:1.2+deb12u1')).map(([n, v]) => `${n}=${v}`));

test('property: every package asked for is installed, pinned where any mention pins it, once, in order', (t) => {
  fc.assert(fc.property(fc.array(pkg, { maxLength: 12 }), (asked) => {
    const list = installList(asked);
    const names = (l: string[]) => l.map((p) => p.split('=')[0]);
    const pinnedNames = new Set(names(asked.filter((p) => p.includes('='))));
    return JSON.stringify(list) === JSON.stringify([...list].sort())
      && new Set(list).size === list.length
      && asked.every((p) => list.includes(p) || (!p.includes('=') && pinnedNames.has(p)))
      && unpinned(list).every((p) => !pinnedNames.has(p))
      && list.every((p) => asked.includes(p));
  }), fuzz);
  t.pass('fast-check found no counterexample');
});

test('property: a conflict is reported exactly when one package is pinned to two versions', (t) => {
  fc.assert(fc.property(fc.array(pkg, { maxLength: 12 }), (asked) => {
    const versions = new Map<string, Set<string>>();
    for (const p of asked.filter((q) => q.includes('='))) {
      const [n, v] = p.split('=');
      versions.set(n, (versions.get(n) ?? new Set()).add(v));
    }
    const expected = [...versions].filter(([, v]) => v.size > 1).map(([n]) => n).sort();
    return JSON.stringify(pinConflicts(asked).map(([n]) => n).sort()) === JSON.stringify(expected);
  }), fuzz);
  t.pass('fast-check found no counterexample');
});
