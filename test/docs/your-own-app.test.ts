// docs/your-own-app.md, its laptop half: the files it shows are written, its
// commands run (berth init in the background, the session beside it, Ctrl-C)
// and what they print is compared with the page. The container half is
// test/e2e/container/your-own-app.test.ts.
import test from 'ava';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { DocSession, freePort, readBlocks } from '../helpers/doc-session.js';
import { root, tempDir } from '../helpers/init.js';

const page = 'docs/your-own-app.md';

test('your-own-app.md: the laptop half runs as the page shows', async (t) => {
  t.timeout(180_000);
  const dir = tempDir('berth-doc-');
  const session = new DocSession({ page, dir, cwd: root, env: { ...process.env, BERTH_STATE_DIR: undefined }, port: { page: 8080, test: await freePort() } });
  t.teardown(async () => {
    await session.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const blocks = readBlocks(join(root, page));
  t.deepEqual(session.writeFiles(blocks), [
    '/tmp/myapp/app/server.mjs',
    '/tmp/myapp/app/worker.mjs',
    '/tmp/myapp/app/hello.mjs',
    '/tmp/myapp/manifest.yaml',
    '/tmp/myapp/image.yaml',
  ]);
  const commands = blocks.filter((b) => b.tier === 'laptop' && b.lang === 'console');
  t.true(commands.length >= 4, `${page}: ${commands.length} console blocks in its laptop half`);
  for (const b of commands) {
    if (b.directive?.startsWith('skip')) continue;
    const problem = await session.run(b);
    if (problem) return t.fail(problem);
  }
});
