// The README's command samples: each console block runs and prints what the
// README shows (test/helpers/doc-session.ts says how a page marks its
// blocks). A block that cannot run here is skipped with its reason, which the
// README carries beside it and this test logs.
import test from 'ava';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { DocSession, readBlocks } from '../helpers/doc-session.js';
import { root, tempDir } from '../helpers/init.js';

const page = 'README.md';

test("README.md: the command samples print what the README shows", async (t) => {
  t.timeout(120_000);
  const dir = tempDir('berth-doc-');
  const session = new DocSession({ page, dir, cwd: root, env: { ...process.env, BERTH_STATE_DIR: undefined } });
  t.teardown(async () => {
    await session.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const blocks = readBlocks(join(root, page));
  t.deepEqual(session.writeFiles(blocks), ['/tmp/shop/manifest.yaml']);
  const commands = blocks.filter((b) => b.lang === 'console');
  for (const b of commands.filter((c) => c.directive?.startsWith('skip'))) t.log(`${page}:${b.line} not run: ${b.directive!.slice(5)}`);
  const run = commands.filter((b) => !b.directive?.startsWith('skip'));
  t.true(run.length >= 1, `${page}: no console block left to run`);
  for (const b of run) {
    const problem = await session.run(b);
    if (problem) return t.fail(problem);
  }
});
