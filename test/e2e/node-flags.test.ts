// Berth runs under V8 flags of its own (main.js's shebang, runtime/init's NODE
// line). A flag that makes Node or V8 print a warning would print it at every
// start of every command and container, so both places are checked here.
import test from 'ava';
import { join } from 'node:path';
import { berthFlags, initNode, root, run, runBerth } from '../helpers/init.js';

const shebangFlags = berthFlags.join(' ');

test('/init runs node with the flags of main.js', (t) => {
  t.truthy(initNode, "runtime/init has a NODE='node FLAGS /opt/berth/ENTRY' line");
  t.is(initNode!.flags.join(' '), shebangFlags);
});

test('a berth command prints nothing on stderr when all is well', async (t) => {
  const r = await runBerth(['validate', join(root, 'images/demo/manifest.yaml')]);
  t.is(r.code, 0);
  t.is(r.stderr, '');
});

test("the init bundle, run as /init runs it, prints nothing on stderr of its own", async (t) => {
  const r = await run([process.execPath, ...berthFlags, initNode!.entry, 'init', '--help']);
  t.is(r.code, 0);
  t.notRegex(r.stdout + r.stderr, /^\(node:\d+\)|^Warning:/m);
});
