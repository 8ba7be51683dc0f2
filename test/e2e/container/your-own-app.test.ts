// docs/your-own-app.md, its container half: the image definition it shows is
// built with `berth build`, run under podman and played as kube.yaml, each
// command as the page gives it (podman pointed at the tier's throwaway store)
// and its output compared with the page. The laptop half is
// test/docs/your-own-app.test.ts.
import test from 'ava';
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findProgram } from '../../../src/unix/find-program.js';
import { DocSession, freePort, readBlocks } from '../../helpers/doc-session.js';
import { baseImage, getEngine, release, repoRoot, unavailable, type Engine } from './engine.js';

const thisFile = fileURLToPath(import.meta.url);
const page = 'docs/your-own-app.md';
const why = unavailable();

if (why) {
  test('container tier: your-own-app.md (skipped)', (t) => {
    t.log(why);
    t.pass();
  });
} else {
  const e: Engine = getEngine(thisFile);

  test.before('berth/base is built', async (t) => {
    t.timeout(600_000);
    await baseImage(e, (m) => t.log(m));
  });

  test.after.always('the containers and the store are removed', async () => {
    await release(thisFile);
  });

  test.serial('your-own-app.md: the image half builds, runs and plays as the page shows', async (t) => {
    t.timeout(300_000);
    const dir = join(e.dir, 'your-own-app');
    // `podman` on PATH is the tier's store: the page's commands and `berth build --tag` both find it
    const bin = join(dir, 'bin');
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'podman'), `#!/bin/sh\nexec ${findProgram('podman', process.env.PATH)} --root ${join(e.dir, 'root')} --runroot ${join(e.dir, 'run')} "$@"\n`);
    chmodSync(join(bin, 'podman'), 0o755);
    const env: NodeJS.ProcessEnv = { ...e.env, PATH: `${bin}:${process.env.PATH}`, BERTH_ENGINE: 'podman' };
    delete env.BERTH_STATE_DIR;
    const session = new DocSession({
      page,
      dir,
      cwd: repoRoot,
      env,
      port: { page: 8080, test: await freePort() },
      // podman on a machine without systemd or syslog (this test's VM) says so on stderr; a reader's does not
      noise: [/^failed to connect to syslog/, /level=error msg=".*unable to get systemd connection/],
    });
    const blocks = readBlocks(join(repoRoot, page));
    session.writeFiles(blocks);
    t.teardown(async () => {
      await session.close();
      await e.podman(['kube', 'down', join(dir, 'myapp/build/kube.yaml')]);
      rmSync(dir, { recursive: true, force: true });
    });
    const commands = blocks.filter((b) => b.tier === 'container' && b.lang === 'console' && !b.directive?.startsWith('skip'));
    t.true(commands.length >= 5, `${page}: ${commands.length} console blocks in its container half`);
    for (const b of commands) {
      const problem = await session.run(b);
      if (problem) return t.fail(problem);
    }
  });
}
