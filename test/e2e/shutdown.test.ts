// Signals and shutdown, as a plain process (a laptop run) and as PID 1.
import test from 'ava';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { listChildren } from '../../src/pid1/children.js';
import { isAlive, procState, startInit, tempDir, waitUntil } from '../helpers/init.js';

function pidsOf(output: string, name: string): number[] {
  return [...output.matchAll(new RegExp(`${name}: started \\(pid (\\d+)\\)`, 'g'))].map((m) => Number(m[1]));
}

for (const pid1 of [false, true]) {
  const as = pid1 ? 'as PID 1' : 'as a plain process';

  test(`SIGTERM stops every service and exits 0 without waiting out the grace (${as})`, async (t) => {
    const init = startInit({
      pid1,
      manifest: { version: 1, services: { a: { script: 'sleep 60' }, b: { execStart: ['sleep', '60'] } } },
      env: { S6_KILL_GRACETIME: '20000' },
    });
    t.teardown(() => init.cleanup());
    await init.waitFor('all stages done');
    const started = Date.now();
    await init.signal('SIGTERM');
    t.is((await init.exited).code, 0);
    t.true(Date.now() - started < 10_000, 'the grace period is a ceiling, not a sleep');
    t.regex(init.output(), /a: stopped, killed by SIGTERM/);
  });

  test(`a TERM-ignoring service is killed when the grace ends (${as})`, async (t) => {
    const init = startInit({
      pid1,
      manifest: { version: 1, services: { stubborn: { script: "trap '' TERM; echo trapped; while :; do sleep 0.1; done" } } },
      env: { S6_KILL_GRACETIME: '600' },
    });
    t.teardown(() => init.cleanup());
    await init.waitFor('trapped');
    const started = Date.now();
    await init.signal('SIGTERM');
    t.is((await init.exited).code, 0);
    const took = Date.now() - started;
    t.true(took >= 500, `waited for the grace (${took} ms)`);
    t.true(took < 8000, `but not much longer (${took} ms)`);
    t.regex(init.output(), /stubborn: sending SIGKILL/);
  });

  test(`a second SIGTERM forces the shutdown at once (${as})`, async (t) => {
    const init = startInit({
      pid1,
      manifest: { version: 1, services: { stubborn: { script: "trap '' TERM; echo trapped; while :; do sleep 0.1; done" } } },
      env: { S6_KILL_GRACETIME: '30000' },
    });
    t.teardown(() => init.cleanup());
    await init.waitFor('trapped');
    await init.signal('SIGTERM');
    await init.waitFor('shutting down');
    const started = Date.now();
    await init.signal('SIGINT');
    t.is((await init.exited).code, 0);
    t.true(Date.now() - started < 5000);
    t.regex(init.output(), /SIGINT again: killing everything now/);
  });

  test(`SIGHUP, SIGUSR1 and SIGUSR2 are forwarded to every long-run (${as})`, async (t) => {
    const script = "for s in HUP USR1 USR2; do trap \"echo got-$s-$NAME\" $s; done; echo ready-$NAME; while :; do sleep 0.05; done";
    const init = startInit({
      pid1,
      manifest: {
        version: 1,
        services: { one: { script, environment: { NAME: 'one' } }, two: { script, environment: { NAME: 'two' } } },
      },
    });
    t.teardown(() => init.cleanup());
    await init.waitFor('ready-one');
    await init.waitFor('ready-two');
    for (const sig of ['SIGHUP', 'SIGUSR1', 'SIGUSR2'] as const) {
      await init.signal(sig);
      const name = sig.slice(3);
      await init.waitFor(`got-${name}-one`);
      await init.waitFor(`got-${name}-two`);
    }
    await init.signal('SIGTERM');
    t.is((await init.exited).code, 0);
  });

  test(`what a service leaves behind is stopped at shutdown (${as})`, async (t) => {
    // the daemon double-forks out of the service's process group and session, and
    // notes a SIGTERM in a file: the namespace's teardown as PID 1 dies only by SIGKILL
    const dir = tempDir();
    const note = join(dir, 'daemon-got-term');
    writeFileSync(join(dir, 'daemon.sh'), `trap 'echo TERM > ${note}; exit 0' TERM; echo "daemon $$"; while :; do sleep 0.05; done\n`);
    const init = startInit({
      dir,
      pid1,
      manifest: { version: 1, services: { forker: { script: `setsid sh ${join(dir, 'daemon.sh')} & sleep 60` } } },
    });
    t.teardown(() => init.cleanup());
    const out = await init.waitFor(/daemon \d+/);
    const inner = Number(/daemon (\d+)/.exec(out)![1]);
    await init.signal('SIGTERM');
    t.is((await init.exited).code, 0);
    t.true(existsSync(note), 'the init sent the daemon SIGTERM before it exited');
    if (pid1) t.regex(init.output(), /stopping \d+ leftover process(es)?: sending SIGTERM/);
    else t.false(isAlive(inner), 'the daemon is gone');
    t.regex(init.output(), /exiting with code 0/);
  });

  test(`a running oneshot is stopped like any service at shutdown (${as})`, async (t) => {
    const init = startInit({
      pid1,
      manifest: { version: 1, services: { slow: { type: 'oneshot-pre', script: 'echo slow-started; sleep 60' }, web: { script: 'echo WEB; sleep 60' } } },
    });
    t.teardown(() => init.cleanup());
    await init.waitFor('slow-started');
    await init.signal('SIGTERM');
    t.is((await init.exited).code, 0);
    t.regex(init.output(), /slow: stopped, killed by SIGTERM/);
    t.notRegex(init.output(), /WEB/, 'nothing new starts once shutdown begins');
  });
}

test('a laptop run adopts and reaps the orphans its services leave (child subreaper)', async (t) => {
  const init = startInit({
    manifest: {
      version: 1,
      services: {
        // each orphan reports itself and its parent once the subshell that made it is gone
        orphaner: { script: "for i in $(seq 1 50); do (sh -c 'sleep 0.3; echo \"orphan $$ adopted-by $(cut -d\" \" -f4 /proc/$$/stat)\"' &); done; echo spawned; sleep 60" },
      },
    },
  });
  t.teardown(() => init.cleanup());
  await init.waitFor('spawned');
  const reports = (): RegExpMatchArray[] => [...init.output().matchAll(/^orphan (\d+) adopted-by (\d+)$/gm)];
  await init.waitFor(() => reports().length >= 50);
  const orphans = reports();
  t.is(new Set(orphans.map((m) => m[1])).size, 50, 'all 50 orphans reported');
  t.deepEqual([...new Set(orphans.map((m) => Number(m[2])))], [init.proc.pid], 'every orphan was re-parented to the init');
  // they exit right after reporting: once none is left alive, none may be left a zombie
  const pids = orphans.map((m) => Number(m[1]));
  await waitUntil('every orphan has exited', () => pids.every((pid) => !isAlive(pid)));
  await waitUntil('the init has reaped them', () => listChildren(init.proc.pid!).every((pid) => procState(pid) !== 'Z'), {
    describe: () => `zombie children: ${listChildren(init.proc.pid!).filter((pid) => procState(pid) === 'Z').join(' ')}`,
  });
  await init.signal('SIGTERM');
  t.is((await init.exited).code, 0);
});

test('the init exits at once on a failure even when the grace is long', async (t) => {
  const init = startInit({ manifest: { version: 1, services: { bad: { script: 'sleep 0.2; exit 9' }, ok: { script: 'sleep 60' } } }, env: { S6_KILL_GRACETIME: '30000' } });
  t.teardown(() => init.cleanup());
  const started = Date.now();
  t.is((await init.exited).code, 9);
  t.true(Date.now() - started < 10_000);
  t.deepEqual(pidsOf(init.output(), 'ok').filter(isAlive), []);
});
