// Stages, ordering, environment and output, on real processes.
import test from 'ava';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive, readRecord, startInit, tempDir, waitForRecord, waitUntil } from '../helpers/init.js';

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
  // across services, the order is the init's: each service's output is relayed through its own pipe
  const out = init.output();
  const at = (s: string): number => out.indexOf(s);
  t.true(at('pre-second-done') < at('[berth] web: started'));
  t.true(at('[berth] web: started') < at('[berth] post-a: started'));
  t.true(at('[berth] post-a: exited with code 0') < at('[berth] post-b: started'));
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

test("services that add nothing share the init's environment; one that adds variables keeps them to itself", async (t) => {
  // plain ones share one environment object; the one with its own must not write into it, before or after them
  const init = startInit({
    manifest: {
      version: 1,
      services: {
        a: { type: 'oneshot-pre', script: 'echo "a: B=$B PATH=$PATH"' },
        b: { type: 'oneshot-pre', after: ['a'], script: 'echo "b: B=$B"', environment: { B: 'only-b', PATH: '/only/b' } },
        c: { type: 'oneshot-pre', after: ['b'], script: 'echo "c: B=$B PATH=$PATH"' },
      },
    },
    env: { B: 'from-init', PATH: process.env.PATH },
  });
  t.teardown(() => init.cleanup());
  t.is((await init.exited).code, 0);
  const out = init.output();
  t.regex(out, /^b: B=only-b$/m);
  t.regex(out, /^a: B=from-init PATH=\S/m);
  const line = (name: string): string => out.split('\n').find((l) => l.startsWith(`${name}: B=`)) ?? '';
  t.is(line('c'), line('a').replace(/^a:/, 'c:'));
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
  // the test holds each state until it has seen it: files it creates let the service move on
  const dir = tempDir();
  const file = (name: string): string => join(dir, name);
  const until = (name: string): string => `while [ ! -e ${file(name)} ]; do sleep 0.02; done`;
  const init = startInit({
    dir,
    manifest: {
      version: 1,
      services: {
        gate: { type: 'oneshot-pre', script: until('open-gate') },
        svc: {
          restartOnFailure: true,
          script: [
            `if [ ! -e ${file('ran-once')} ]; then touch ${file('ran-once')}; ${until('fail')}; exit 1; fi`,
            `trap '${until('let-go')}; exit 0' TERM`,
            'echo second-run',
            'while :; do sleep 0.02; done',
          ].join('\n'),
        },
      },
    },
  });
  t.teardown(() => init.cleanup());
  const seen: Array<Record<string, unknown>> = [];
  const next = async (ok: (r: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> => {
    const r = await waitForRecord(init.stateDir, 'svc', ok);
    seen.push(r);
    return r;
  };
  // the pid of the nth start, from the log line (the record may be read before the line arrives)
  const startedPid = async (nth: number): Promise<number> => {
    const pids = (): number[] => [...init.output().matchAll(/svc: started \(pid (\d+)\)/g)].map((m) => Number(m[1]));
    await init.waitFor(() => pids().length >= nth);
    return pids()[nth - 1];
  };

  t.like(await next((r) => r.state === 'down'), { pid: null, restarts: 0, lastExit: null }, 'down while a oneshot-pre runs');
  writeFileSync(file('open-gate'), '');
  t.like(await next((r) => r.state === 'up'), { pid: await startedPid(1), restarts: 0 });
  t.is(Number(readFileSync(join(init.stateDir, 'init.pid'), 'utf8')), init.proc.pid!);
  writeFileSync(file('fail'), '');
  await init.waitFor('second-run');
  // the first restart is immediate: backoff and the new start are one burst, so one record
  const restarted = await next((r) => r.restarts === 1);
  t.like(restarted, { state: 'up', pid: await startedPid(2), lastExit: { code: 1, signal: null } });
  await init.signal('SIGTERM');
  t.like(await next((r) => r.state === 'stopping'), { pid: await startedPid(2), restarts: 1 }, 'stopping while the TERM trap runs');
  writeFileSync(file('let-go'), '');
  t.is((await init.exited).code, 0);
  t.like(await next(() => true), { state: 'stopped', pid: null, restarts: 1, lastExit: { code: 0, signal: null } });
  t.deepEqual(
    seen.map((r) => r.state),
    ['down', 'up', 'up', 'stopping', 'stopped'],
  );
  t.deepEqual(
    seen.map((r) => Date.parse(r.since as string)),
    seen.map((r) => Date.parse(r.since as string)).sort((a, b) => a - b),
    'since moves forward',
  );
  t.false(existsSync(join(init.stateDir, 'init.pid')), 'the pid file goes with the init');
});

test('a second init refuses a state dir that a live init owns, and a stale one is cleared', async (t) => {
  const first = startInit({ manifest: { version: 1, services: { svc: { script: 'sleep 30' } } } });
  t.teardown(() => first.cleanup());
  await first.waitFor('svc: started');
  await waitForRecord(first.stateDir, 'svc', (r) => r.state === 'up');
  const second = startInit({ manifest: { version: 1, services: { other: { script: 'sleep 30' } } }, dir: first.dir });
  t.is((await second.exited).code, 2);
  t.regex(second.output(), /in use by a running init/);
  t.notRegex(second.output(), /other: started/);
  t.like(readRecord(first.stateDir, 'svc'), { state: 'up' }, 'the refused init touched nothing');
  // its service outlives a SIGKILLed init and holds the output pipe: wait for the init itself
  const firstGone = once(first.proc, 'exit');
  first.proc.kill('SIGKILL');
  await firstGone;
  // the dead init left its lock file, pid file and records behind: stale
  t.like(readRecord(first.stateDir, 'svc'), { state: 'up' });
  t.true(existsSync(join(first.stateDir, 'init.pid')));
  const third = startInit({ manifest: { version: 1, services: { other: { script: 'sleep 30' } } }, dir: first.dir });
  t.teardown(() => third.cleanup());
  await waitForRecord(third.stateDir, 'other', (r) => r.state === 'up');
  t.deepEqual(readdirSync(join(third.stateDir, 'services')), ['other.json'], "the dead init's records are gone");
  t.is(Number(readFileSync(join(third.stateDir, 'init.pid'), 'utf8')), third.proc.pid!);
  await third.signal('SIGTERM');
  t.is((await third.exited).code, 0);
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
  await waitUntil('the service is gone', () => !isAlive(pid));
  t.false(isAlive(pid), 'the service died with the init');
});
