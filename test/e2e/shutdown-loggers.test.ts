// No line is lost at shutdown: execLoggers get EOF and a drain window of their
// own once the services are gone, however much of the grace the services took.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startInit, tempDir } from '../helpers/init.js';

test('a TERM-ignoring service that needs the whole grace still gets all its lines through a slow logger', async (t) => {
  const dir = tempDir();
  const out = join(dir, 'logged');
  const init = startInit({
    dir,
    env: { S6_KILL_GRACETIME: '300' },
    manifest: {
      version: 1,
      services: {
        chatty: {
          script: "trap '' TERM; i=0; while [ $i -lt 200 ]; do echo line-$i; i=$((i+1)); done; echo written >&2; while :; do sleep 1 || :; done",
          // about 1 s of work for 200 lines: far longer than the grace
          execLogger: `while IFS= read -r l; do echo "$l" >> ${out}; sleep 0.005; done; echo EOF >> ${out}`,
        },
      },
    },
  });
  t.teardown(() => init.cleanup());
  await init.waitFor('chatty: started');
  await init.waitFor(/all stages done/);
  await new Promise((r) => setTimeout(r, 100));
  await init.signal('SIGTERM');
  t.is((await init.exited).code, 0);
  const lines = readFileSync(out, 'utf8').trim().split('\n');
  t.is(lines.filter((l) => l.startsWith('line-')).length, 200);
  t.is(lines.at(-1), 'EOF', 'the logger saw EOF, not a signal');
  t.regex(init.output(), /chatty: sending SIGKILL/);
  t.notRegex(init.output(), /leftover process/);
});
