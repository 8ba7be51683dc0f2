// PID-1 duties proven as PID 1 of a real PID namespace (unshare, as root).
import test from 'ava';
import { mkdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { listDescendants } from '../src/pid1/children.js';
import { procState, startInit } from './helpers/init.js';

test('as PID 1, thousands of orphans leave no zombie behind', async (t) => {
  const init = startInit({
    pid1: true,
    manifest: {
      version: 1,
      services: {
        orphaner: { script: 'i=0; while [ $i -lt 3000 ]; do (true &); i=$((i+1)); done; echo spawned-all; sleep 60' },
      },
    },
  });
  t.teardown(() => init.cleanup());
  await init.waitFor('spawned-all', 60_000);
  const pid = await init.initPid();
  let zombies = -1;
  for (let i = 0; i < 50 && zombies !== 0; i++) {
    await new Promise((r) => setTimeout(r, 100));
    zombies = listDescendants(pid).filter((p) => procState(p) === 'Z').length;
  }
  t.is(zombies, 0);
  await init.signal('SIGTERM');
  t.is((await init.exited).code, 0);
});

test('as PID 1, shutdown TERMs then KILLs every other process in the container', async (t) => {
  const init = startInit({
    pid1: true,
    manifest: {
      version: 1,
      services: {
        escaper: { script: "setsid sh -c 'trap \"\" TERM; echo escaped; while :; do sleep 0.1; done' & sleep 60" },
      },
    },
    env: { S6_KILL_GRACETIME: '800' },
  });
  t.teardown(() => init.cleanup());
  await init.waitFor('escaped');
  await init.signal('SIGTERM');
  const exit = await init.exited;
  t.is(exit.code, 0, 'unshare passes the init exit code through');
  // the TERM-ignoring loop (and its sleep) outlive the service and the TERM
  t.regex(init.output(), /stopping \d+ leftover process(es)?: sending SIGTERM/);
  t.regex(init.output(), /\d+ leftover process(es)? still running after the grace: sending SIGKILL/);
});

test('as PID 1, SIGTERM is not dropped by the kernel: docker stop does not wait out its timeout', async (t) => {
  const init = startInit({ pid1: true, manifest: { version: 1, services: { s: { script: 'sleep 60' } } } });
  t.teardown(() => init.cleanup());
  await init.waitFor('s: started');
  const started = Date.now();
  await init.signal('SIGTERM');
  t.is((await init.exited).code, 0);
  t.true(Date.now() - started < 5000);
  t.regex(init.output(), /PID 1/);
});

test('a signal storm does not break the init', async (t) => {
  const init = startInit({
    pid1: true,
    manifest: { version: 1, services: { s: { script: "trap 'true' HUP USR1 USR2; echo ready; while :; do sleep 0.05; done" } } },
  });
  t.teardown(() => init.cleanup());
  await init.waitFor('ready');
  const pid = await init.initPid();
  for (let i = 0; i < 300; i++) process.kill(pid, (['SIGHUP', 'SIGUSR1', 'SIGUSR2'] as const)[i % 3]);
  await new Promise((r) => setTimeout(r, 300));
  await init.signal('SIGTERM');
  t.is((await init.exited).code, 0);
});

test('under a pids limit, a service that makes many short-lived orphans keeps working because the init reaps them', async (t) => {
  const cgroup = `/sys/fs/cgroup/pids/berth-test-${process.pid}-${Date.now()}`;
  try {
    mkdirSync(cgroup);
  } catch (err) {
    t.log(`no v1 pids cgroup here (${(err as Error).message})`);
    t.pass();
    return;
  }
  writeFileSync(`${cgroup}/pids.max`, '150');
  // a shell that joins the cgroup first, so the whole namespace is limited
  const init = startInit({
    pid1: true,
    manifest: {
      version: 1,
      services: {
        orphaner: {
          type: 'oneshot-pre',
          script: 'i=0; while [ $i -lt 1000 ]; do (true &) || exit 1; i=$((i+1)); done; echo made-1000-orphans',
        },
      },
    },
    wrap: (argv) => ['sh', '-c', `echo $$ > ${cgroup}/cgroup.procs && exec "$@"`, 'sh', ...argv],
  });
  t.teardown(async () => {
    await init.cleanup();
    for (let i = 0; i < 50; i++) {
      try {
        rmdirSync(cgroup);
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  });
  t.is((await init.exited).code, 0, init.output());
  t.regex(init.output(), /made-1000-orphans/);
});
