// Stages, ordering, environment and output, on real processes.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive, sleep, startInit, waitForRecord } from './helpers/init.js';

test('oneshot-pre tasks run one at a time in after order, then long-runs, then oneshot-post in after order', async (t) => {
  const init = startInit({
    manifest: `version: 1
services:
  second: { type: oneshot-pre, after: [first], script: "echo pre-second; sleep 0.2; echo pre-second-done" }
  first: { type: oneshot-pre, script: "echo pre-first; sleep 0.2; echo pre-first-done" }
  web: { script: "echo web-up; sleep 1; echo web-bye" }
  post-b: { type: oneshot-post, after: [post-a, web], script: "echo post-b" }
  post-a: { type: oneshot-post, script: "echo post-a" }
`,
  });
  t.teardown(() => init.cleanup());
  const { code } = await init.exited;
  t.is(code, 0);
  const lines = init.output().split('\n').filter((l) => !l.startsWith('[berth]'));
  t.deepEqual(lines.filter((l) => l.startsWith('pre-')), ['pre-first', 'pre-first-done', 'pre-second', 'pre-second-done']);
  const at = (s: string): number => lines.indexOf(s);
  t.true(at('pre-second-done') < at('web-up'));
  t.true(at('web-up') < at('post-a'));
  t.true(at('post-a') < at('post-b'));
  t.regex(init.output(), /\[berth\] stage oneshot-pre: 2 tasks/);
  t.regex(init.output(), /\[berth\] exiting with code 0/);
});

test('a long-run that exits 0 is finished, and the init exits 0 when nothing is left', async (t) => {
  const init = startInit({ manifest: { version: 1, services: { quick: { script: 'exit 0' } } } });
  t.teardown(() => init.cleanup());
  t.is((await init.exited).code, 0);
  t.regex(init.output(), /quick: exited with code 0/);
});

test('services inherit the init environment, PATH included, and environment overrides it', async (t) => {
  const init = startInit({
    manifest: { version: 1, services: { env: { script: 'echo "A=$A B=$B PATH=$PATH"', environment: { B: 'from-manifest', NUM: 8080 } } } },
    env: { A: 'from-init', B: 'from-init', PATH: `/opt/custom/bin:${process.env.PATH}` },
  });
  t.teardown(() => init.cleanup());
  await init.exited;
  t.regex(init.output(), new RegExp(`A=from-init B=from-manifest PATH=/opt/custom/bin:${process.env.PATH!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n`));
});

test('workingDirectory sets the cwd', async (t) => {
  const init = startInit({ manifest: { version: 1, services: { where: { execStart: ['/bin/pwd'], workingDirectory: '/usr/share' } } } });
  t.teardown(() => init.cleanup());
  await init.exited;
  t.regex(init.output(), /^\/usr\/share$/m);
});

test('execLogger receives stdout and stderr, and nothing is lost when the service ends', async (t) => {
  const init = startInit({
    manifest: { version: 1, services: { noisy: { script: 'echo to-out; echo to-err >&2; seq 1 2000', execLogger: "sed -u 's/^/LOGGED: /'" } } },
  });
  t.teardown(() => init.cleanup());
  t.is((await init.exited).code, 0);
  const out = init.output();
  t.regex(out, /^LOGGED: to-out$/m);
  t.regex(out, /^LOGGED: to-err$/m);
  t.regex(out, /^LOGGED: 2000$/m);
  t.notRegex(out, /^to-err$/m);
});

test('a line without newline, a 1 MiB line (cut into 64 KiB lines) and binary data pass through intact', async (t) => {
  const init = startInit({
    manifest: {
      version: 1,
      services: {
        long: { type: 'oneshot-pre', script: "head -c 1048576 /dev/zero | tr '\\0' x; echo" },
        binary: { type: 'oneshot-post', script: "printf 'bin:\\001\\002\\377\\000end'; printf 'no-newline-at-end'" },
      },
    },
  });
  t.teardown(() => init.cleanup());
  t.is((await init.exited).code, 0);
  // the init's own lines share stdout and may land between a service's writes
  const out = init.output().replace(/\[berth\][^\n]*\n/g, '');
  t.true(out.includes(('x'.repeat(65536) + '\n').repeat(16)));
  t.true(out.includes('bin:\x01\x02\xff\x00end'));
  t.true(out.includes('no-newline-at-end'));
});

test('a disabled service is never started', async (t) => {
  const init = startInit({
    manifest: { version: 1, services: { off: { script: 'echo SHOULD-NOT-RUN', enable: false }, on: { script: 'echo ran', after: ['off'] } } },
  });
  t.teardown(() => init.cleanup());
  t.is((await init.exited).code, 0);
  t.notRegex(init.output(), /SHOULD-NOT-RUN/);
  t.regex(init.output(), /^ran$/m);
});

test('the state dir holds a record per service that tracks its transitions', async (t) => {
  const init = startInit({ manifest: { version: 1, services: { svc: { script: 'sleep 30' } } } });
  t.teardown(() => init.cleanup());
  await init.waitFor('svc: started');
  const record = await waitForRecord(init.stateDir, 'svc', (r) => r.state === 'up');
  t.is(typeof record.pid, 'number');
  t.is(record.restarts, 0);
  t.is(Number(readFileSync(join(init.stateDir, 'init.pid'), 'utf8')), init.proc.pid!);
  await init.signal('SIGTERM');
  t.is((await init.exited).code, 0);
  const after = JSON.parse(readFileSync(join(init.stateDir, 'services/svc.json'), 'utf8'));
  t.is(after.state, 'stopped');
  t.is(after.lastExit.signal, 'SIGTERM');
});

test('a second init refuses a state dir that a live init owns, and a stale one is cleared', async (t) => {
  const first = startInit({ manifest: { version: 1, services: { svc: { script: 'sleep 30' } } } });
  t.teardown(() => first.cleanup());
  await first.waitFor('svc: started');
  const second = startInit({ manifest: { version: 1, services: { other: { script: 'sleep 30' } } }, dir: first.dir });
  t.is((await second.exited).code, 2);
  t.regex(second.output(), /in use by a running init/);
  t.notRegex(second.output(), /other: started/);
  first.proc.kill('SIGKILL');
  await first.exited;
  // the dead init left its socket behind: stale
  const third = startInit({ manifest: { version: 1, services: { other: { script: 'exit 0' } } }, dir: first.dir });
  t.is((await third.exited).code, 0);
  t.regex(third.output(), /other: exited with code 0/);
});

test('tty: true runs the service under a pseudo-terminal', async (t) => {
  const init = startInit({
    manifest: { version: 1, services: { term: { script: 'if [ -t 0 ] && [ -t 1 ]; then echo "has a terminal: $(tty)"; else echo no-terminal; fi', tty: true } } },
  });
  t.teardown(() => init.cleanup());
  t.is((await init.exited).code, 0);
  t.regex(init.output(), /has a terminal: \/dev\/pts\/\d+/);
});

test('an execLogger outlives restarts of its service', async (t) => {
  const init = startInit({
    manifest: {
      version: 1,
      services: {
        crashy: { script: 'echo "run at $(date +%s%N)"; sleep 0.1; exit 1', restartOnFailure: true, execLogger: "sh -c 'echo logger-pid-$$; exec sed -u s/^/LOG:/'" },
      },
    },
  });
  t.teardown(() => init.cleanup());
  await init.waitFor(/restart #3\)/);
  await init.signal('SIGTERM');
  t.is((await init.exited).code, 0);
  const out = init.output();
  t.is(out.match(/logger-pid-/g)?.length, 1, 'one logger for every run');
  t.true((out.match(/^LOG:run at/gm)?.length ?? 0) >= 3);
});

test('an init that dies on an unexpected signal takes its services down', async (t) => {
  const init = startInit({ manifest: { version: 1, services: { svc: { script: 'sleep 60' } } } });
  t.teardown(() => init.cleanup());
  const out = await init.waitFor(/svc: started \(pid (\d+)\)/);
  const pid = Number(/svc: started \(pid (\d+)\)/.exec(out)![1]);
  init.proc.kill('SIGQUIT');
  await init.exited;
  await sleep(200);
  t.false(isAlive(pid));
});
