// docs/architecture.md is the rule, not a sketch: its rooms table against
// every import in src/, where native code may live, who may assign a state,
// and its lifecycle grid against the table in src/supervisor/lifecycle.ts.
import test from 'ava';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { STATES, step, type Input, type Policy, type State } from '../src/supervisor/lifecycle.js';
import { root } from './helpers/init.js';

const doc = readFileSync(join(root, 'docs/architecture.md'), 'utf8');
const src = join(root, 'src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

const roomOf = (file: string): string => relative(src, file).split('/')[0];

/** The rooms table: room → the rooms it may import ('*' for every room). */
function roomsTable(): Map<string, Set<string>> {
  const section = doc.slice(doc.indexOf('## Rooms'), doc.indexOf('## From a manifest'));
  const rooms = new Map<string, Set<string>>();
  for (const m of section.matchAll(/^\| `([a-z0-9-]+)` \| [^|]+ \| ([^|]+) \|$/gm)) {
    const allowed = m[2].trim();
    rooms.set(m[1], new Set(allowed === 'every room' ? ['*'] : allowed === '—' ? [] : [...allowed.matchAll(/`([a-z0-9-]+)`/g)].map((x) => x[1])));
  }
  return rooms;
}

test('every room of src/ is in the rooms table, and imports only the rooms its row names', (t) => {
  const rooms = roomsTable();
  const folders = readdirSync(src).filter((e) => statSync(join(src, e)).isDirectory());
  t.deepEqual([...rooms.keys()].sort(), folders.sort(), 'the table lists exactly the folders of src/');
  const wrong: string[] = [];
  for (const file of files(src).filter((f) => /\.c?ts$/.test(f))) {
    const from = roomOf(file);
    const allowed = rooms.get(from)!;
    for (const m of readFileSync(file, 'utf8').matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) {
      const to = roomOf(resolve(dirname(file), m[1]));
      if (to !== from && !allowed.has('*') && !allowed.has(to)) wrong.push(`${relative(root, file)} imports ${to}`);
      if (to === 'cli' && from !== 'cli') wrong.push(`${relative(root, file)} imports cli`);
    }
  }
  t.deepEqual(wrong, []);
});

test('native code lives in src/native alone, and only its loader loads the addon', (t) => {
  const all = files(src);
  t.deepEqual(all.filter((f) => /\.(c|cc|h)$/.test(f) && roomOf(f) !== 'native').map((f) => relative(root, f)), []);
  const loaders = all.filter((f) => /\.c?ts$/.test(f) && /berth_pid1\.node/.test(readFileSync(f, 'utf8')));
  t.deepEqual(loaders.map((f) => relative(root, f)), ['src/native/addon.ts']);
});

test("a service's state is assigned only by its runner, the init's phase only by the supervisor's enter()", (t) => {
  const assigning = (pattern: RegExp): string[] => files(src).filter((f) => /\.ts$/.test(f) && pattern.test(readFileSync(f, 'utf8'))).map((f) => relative(root, f));
  t.deepEqual(assigning(/\.state = /), ['src/supervisor/service.ts']);
  const supervisor = readFileSync(join(src, 'supervisor/supervisor.ts'), 'utf8');
  t.is(supervisor.match(/this\.currentPhase = /g)?.length, 1);
  t.deepEqual(assigning(/currentPhase = /), ['src/supervisor/supervisor.ts']);
});

test("the lifecycle grid in the doc is the table's: a cell is marked where the input does something", (t) => {
  const section = doc.slice(doc.indexOf('## The lifecycle table'));
  const header = /^\| state \\ input \|(.+)\|$/m.exec(section)!;
  const inputs = header[1].split('|').map((s) => s.trim());
  const policy: Policy = { type: 'long-run', restart: 'on-failure', successExitCodes: [0], readiness: true, stopSignal: 'SIGTERM', stopTimeoutMs: 1000, startTimeoutMs: 1000, liveness: true };
  const samples: Record<string, Input> = {
    start: { kind: 'start' }, spawned: { kind: 'spawned', pid: 5 }, ready: { kind: 'ready' }, exited: { kind: 'exited', exit: { code: 1, signal: null }, uptimeMs: 5 },
    stop: { kind: 'stop', signal: 'SIGTERM' }, hold: { kind: 'hold' }, kill: { kind: 'kill' }, timer: { kind: 'timer' },
    'start-timeout': { kind: 'start-timeout' }, 'extend-timeout': { kind: 'extend-timeout', ms: 5000, remainingMs: 0 }, watchdog: { kind: 'watchdog', cause: 'x' }, unhealthy: { kind: 'unhealthy', cause: 'x' }, 'over-limit': { kind: 'over-limit', cause: 'x' }, signal: { kind: 'signal', signal: 'SIGHUP' },
    schedule: { kind: 'schedule' }, 'run-timeout': { kind: 'run-timeout' }, replace: { kind: 'replace' },
  };
  // a cell is marked where the input acts for a long-run or for a scheduled job
  const job: Policy = { ...policy, type: 'scheduled', readiness: false, liveness: false, startTimeoutMs: undefined, runTimeoutMs: 1000 };
  t.deepEqual([...inputs].sort(), Object.keys(samples).sort(), 'every input has a column');
  const rows = [...section.matchAll(/^\| `([a-z]+)` \|(.+)\|$/gm)];
  t.deepEqual(rows.map((r) => r[1]).sort(), Object.keys(STATES).sort(), 'every state has a row');
  for (const [, state, cells] of rows) {
    cells.split('|').map((c) => c.trim()).forEach((cell, i) => {
      const acts = [policy, job].some((p) => step({ state: state as State, want: 'up', policy: p, streak: 0, recentRestarts: 0 }, samples[inputs[i]]) !== null);
      t.is(cell === '✓', acts, `${state} × ${inputs[i]}`);
    });
  }
});
