// berth reload: only what changed is touched.
import test from 'ava';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runBerth, startInit, waitForRecord } from '../helpers/init.js';

interface Row { name: string; state: string; pid: number | null }
const rows = async (dir: string): Promise<Row[]> => JSON.parse((await runBerth(['status', '--json', '--state-dir', dir])).stdout) as Row[];
const pidOf = (rs: Row[], name: string): number | null | undefined => rs.find((r) => r.name === name)?.pid;

/** A service that takes a second to stop on SIGTERM, marked by `version` in its command line. */
const slowToStop = (version: string): string => `echo ${version}; trap 'sleep 1; exit 0' TERM; while :; do sleep 0.1 || :; done`;

/** The pids of every process running the slowToStop script marked `version`. */
function processesOf(version: string): number[] {
  return readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try {
      return readFileSync(`/proc/${p}/cmdline`, 'latin1').includes(`echo ${version};`);
    } catch {
      return false;
    }
  }).map(Number);
}

test('reload starts added services, stops removed ones, restarts changed ones and leaves the rest alone', async (t) => {
  const services = {
    keep: { script: 'exec sleep 60' },
    change: { script: 'echo change-v1; exec sleep 60' },
    drop: { script: 'exec sleep 60' },
  };
  const init = startInit({ manifest: { version: 1, services } });
  t.teardown(() => init.cleanup());
  await init.waitFor('all stages done');
  const before = await rows(init.stateDir);
  const manifest = join(init.dir, 'manifest.json');
  writeFileSync(manifest, JSON.stringify({ version: 1, services: { keep: services.keep, change: { script: 'echo change-v2; exec sleep 60' }, fresh: { script: 'echo fresh-up; exec sleep 60' } } }));
  const r = await runBerth(['reload', '--state-dir', init.stateDir]);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, 'reloaded: added fresh; removed drop; restarted change; 1 unchanged\n');
  await init.waitFor('fresh-up');
  await init.waitFor('change-v2');
  const after = await rows(init.stateDir);
  t.deepEqual(after.map((x) => [x.name, x.state]), [['keep', 'up'], ['change', 'up'], ['fresh', 'up']]);
  t.is(pidOf(after, 'keep'), pidOf(before, 'keep'), 'the untouched service keeps its pid');
  t.not(pidOf(after, 'change'), pidOf(before, 'change'));
  await t.throwsAsync(waitForRecord(init.stateDir, 'drop', () => true, 300), undefined, "the removed service's record is gone");

  writeFileSync(manifest, JSON.stringify({ version: 1, services: { keep: { script: 'exec sleep 60', after: ['nope'] } } }));
  const bad = await runBerth(['reload', '--state-dir', init.stateDir]);
  t.is(bad.code, 1);
  t.regex(bad.stderr, /manifest\.json:\d+:\d+: services\.keep\.after\[0\]: unknown service 'nope'/);
  t.regex(bad.stderr, /nothing changed/);
  t.deepEqual((await rows(init.stateDir)).map((x) => [x.name, x.pid]), after.map((x) => [x.name, x.pid]), 'an invalid manifest changes nothing');
  await init.signal('SIGTERM');
  t.is((await init.exited).code, 0);
});

test('two reloads at once apply a change once: the second waits for the first and finds nothing more to do', async (t) => {
  const init = startInit({ manifest: { version: 1, services: { change: { script: 'echo v1; exec sleep 60' } } } });
  t.teardown(() => init.cleanup());
  await init.waitFor('all stages done');
  writeFileSync(join(init.dir, 'manifest.json'), JSON.stringify({ version: 1, services: { change: { script: 'echo v2; exec sleep 60' } } }));
  const [a, b] = await Promise.all([runBerth(['reload', '--state-dir', init.stateDir]), runBerth(['reload', '--state-dir', init.stateDir])]);
  t.deepEqual([a.code, b.code], [0, 0], `${a.stderr}${b.stderr}`);
  t.deepEqual([a.stdout, b.stdout].sort(), ['reloaded: 1 unchanged\n', 'reloaded: restarted change; 0 unchanged\n']);
  t.is(init.output().match(/change: started/g)?.length, 2, 'started once at the start, once for the change');
  await init.signal('SIGTERM');
  t.is((await init.exited).code, 0);
});

test('a start that races a reload of the same service acts on the new service: no process is left that no service owns', async (t) => {
  const init = startInit({ manifest: { version: 1, services: { slow: { script: slowToStop('version-one') } } } });
  t.teardown(() => init.cleanup());
  await init.waitFor('all stages done');
  writeFileSync(join(init.dir, 'manifest.json'), JSON.stringify({ version: 1, services: { slow: { script: slowToStop('version-two') } } }));
  const reload = runBerth(['reload', '--state-dir', init.stateDir]);
  await init.waitFor('slow: sending SIGTERM'); // the reload is stopping it, for a second
  const start = await runBerth(['start', '--state-dir', init.stateDir, 'slow']);
  t.is((await reload).code, 0);
  t.is(start.code, 0, start.stderr);
  t.deepEqual(processesOf('version-one'), [], 'the old version is gone');
  t.deepEqual(processesOf('version-two'), [pidOf(await rows(init.stateDir), 'slow')], 'one process of the new version, and it is the one the init tracks');
  await init.signal('SIGTERM');
  t.is((await init.exited).code, 0);
});

test('a restart already under way when a reload replaces the service starts the new one, not the old: nothing is left that no service owns', async (t) => {
  const init = startInit({ manifest: { version: 1, services: { a: { script: slowToStop('edition-one') } } } });
  t.teardown(() => init.cleanup());
  await init.waitFor('all stages done');
  const restart = runBerth(['restart', '--state-dir', init.stateDir, 'a']);
  await init.waitFor('a: sending SIGTERM'); // the restart is stopping it, for a second
  writeFileSync(join(init.dir, 'manifest.json'), JSON.stringify({ version: 1, services: { a: { script: slowToStop('edition-two') } } }));
  const reload = await runBerth(['reload', '--state-dir', init.stateDir]);
  t.is(reload.code, 0, reload.stderr);
  t.is((await restart).code, 0);
  t.deepEqual(processesOf('edition-one'), [], `the old edition is gone\n${init.output()}`);
  t.deepEqual(processesOf('edition-two'), [pidOf(await rows(init.stateDir), 'a')], 'one process of the new edition, the one the init tracks');
  await init.signal('SIGTERM');
  t.is((await init.exited).code, 0);
});
