// The state dir on a fake lock: ownership, stale leftovers, records and the phase, without an init.
import test from 'ava';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { acquireStateDir, StateDirError, type RecordSource } from '../../src/control/state-dir.js';
import { tempDir } from '../helpers/init.js';

const record = (name: string, state = 'up'): RecordSource => ({
  name,
  pid: 5,
  record: () => ({ name, type: 'long-run', state, want: 'up', pid: 5, since: 'x', restarts: 0, lastExit: null, ready: null }),
});

test('a dead init leaves stale records, pid, phase and socket: the next init clears them all and makes the dir owner-only', (t) => {
  const dir = join(tempDir(), 'state');
  mkdirSync(join(dir, 'services'), { recursive: true, mode: 0o755 });
  for (const f of ['init.pid', 'init.json', 'control.sock', 'services/old.json']) writeFileSync(join(dir, f), 'stale');
  const sd = acquireStateDir(dir, () => true, () => {});
  t.false(existsSync(join(dir, 'services/old.json')));
  t.false(existsSync(join(dir, 'control.sock')));
  t.false(existsSync(join(dir, 'init.json')));
  t.is(readFileSync(join(dir, 'init.pid'), 'utf8'), `${process.pid}\n`);
  t.is(statSync(dir).mode & 0o777, 0o700);
  sd.release();
  t.false(existsSync(join(dir, 'init.pid')));
});

test('a state dir whose lock is held is refused, and nothing in it is touched', (t) => {
  const dir = join(tempDir(), 'state');
  mkdirSync(join(dir, 'services'), { recursive: true });
  writeFileSync(join(dir, 'init.pid'), '42\n');
  writeFileSync(join(dir, 'services/web.json'), 'live');
  const err = t.throws(() => acquireStateDir(dir, () => false, () => {}), { instanceOf: StateDirError });
  t.regex(err!.message, /state dir .* is in use by a running init \(pid 42 in its PID namespace\)/);
  t.is(readFileSync(join(dir, 'services/web.json'), 'utf8'), 'live');
});

test('records of one burst are made and written once, after it, as the service is then', async (t) => {
  const dir = join(tempDir(), 'state');
  const sd = acquireStateDir(dir, () => true, () => {});
  let made = 0;
  let state = 'starting';
  const web: RecordSource = { name: 'web', pid: 5, record: () => ({ ...record('web', state).record(), pid: ++made }) };
  sd.writeRecord(record('web', 'down'));
  sd.writeRecord(web);
  state = 'up';
  sd.writeRecord(web);
  sd.writeRecord(record('db'));
  t.false(existsSync(join(dir, 'services/web.json')), 'nothing is written inside the burst');
  t.is(made, 0, 'nor made');
  await new Promise((r) => setImmediate(r));
  t.like(JSON.parse(readFileSync(join(dir, 'services/web.json'), 'utf8')), { state: 'up', pid: 1 });
  t.true(existsSync(join(dir, 'services/db.json')));
  sd.writePhase({ pid: 1, phase: 'running', since: 'now', manifest: 'm.yaml' });
  t.is(JSON.parse(readFileSync(join(dir, 'init.json'), 'utf8')).phase, 'running');
});

test('records that cannot be written are reported once per run of failures, and written once possible', async (t) => {
  const dir = join(tempDir(), 'state');
  const warnings: string[] = [];
  const sd = acquireStateDir(dir, () => true, (m) => warnings.push(m));
  const services = join(dir, 'services');
  const { rmSync } = await import('node:fs');
  rmSync(services, { recursive: true });
  writeFileSync(services, 'not a dir');
  sd.writeRecord(record('web'));
  sd.flush();
  sd.writeRecord(record('db'));
  sd.flush();
  t.is(warnings.length, 1);
  t.regex(warnings[0], /cannot write the state dir's service records/);
  rmSync(services);
  mkdirSync(services);
  sd.flush();
  t.true(existsSync(join(services, 'web.json')));
  t.true(existsSync(join(services, 'db.json')));
});
