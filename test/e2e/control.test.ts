// Operating a running init: status with stats, start/stop/restart/signal,
// the owner-only control channel and its behaviour under bad clients.
import test from 'ava';
import { spawn } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { isAlive, runBerth, runBerthVia, sleep, startInit, tempDir, waitForRecord, type Ran } from '../helpers/init.js';
import { rawRequest } from '../helpers/control.js';

interface Row {
  name: string;
  state: string;
  want: string;
  pid: number | null;
  restarts: number;
  ready: boolean | null;
  cpu: number;
  memory: number;
  lastExit: { code: number | null } | null;
}

async function statusJson(stateDir: string): Promise<Row[]> {
  const r = await runBerth(['status', '--json', '--state-dir', stateDir]);
  if (r.code !== 0) throw new Error(`status exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Row[];
}

const row = (rows: Row[], name: string): Row => rows.find((r) => r.name === name)!;

test('status shows every service with its state, and memory and CPU of a known workload', async (t) => {
  const init = startInit({
    manifest: {
      version: 1,
      services: {
        setup: { type: 'oneshot-pre', script: 'true' },
        idle: { execStart: [process.execPath, '-e', 'setInterval(() => {}, 1000)'] },
        big: { execStart: [process.execPath, '-e', "globalThis.b = Buffer.alloc(50 * 1024 * 1024, 1); console.log('allocated'); setInterval(() => {}, 1000)"] },
        spin: { script: 'while :; do :; done' },
      },
    },
  });
  t.teardown(() => init.cleanup());
  await init.waitFor('allocated');
  await init.waitFor('all stages done');
  const rows = await statusJson(init.stateDir);
  t.deepEqual(rows.map((r) => [r.name, r.state]), [['setup', 'finished'], ['idle', 'up'], ['big', 'up'], ['spin', 'up']]);
  const extra = (row(rows, 'big').memory - row(rows, 'idle').memory) / 2 ** 20;
  t.true(extra > 40 && extra < 70, `the 50 MB service shows ${extra.toFixed(1)} MB more than its idle twin`);
  t.true(row(rows, 'spin').cpu > 10, `a busy loop shows ${row(rows, 'spin').cpu}% CPU`);
  t.true(row(rows, 'idle').cpu < 10, `an idle service shows ${row(rows, 'idle').cpu}% CPU`);
  t.is(row(rows, 'setup').memory, 0);
  for (const r of rows) t.is(r.ready, null);

  const text = await runBerth(['status', init.stateDir]);
  t.is(text.code, 0);
  const lines = text.stdout.trim().split('\n');
  t.regex(lines[0], new RegExp(`^init pid ${init.proc.pid} \\(running\\), state dir `));
  t.regex(lines[1], /^NAME +TYPE +STATE +PID +UPTIME +RESTARTS +READY +CPU +MEM$/);
  t.regex(lines[3], /^idle +long-run +up +\d+ +\d+s +0 +- +\d+\.\d% +\d+(\.\d)?M$/);
  t.notRegex(text.stdout, /\x1b\[/, 'no colour when stdout is not a terminal');
});

test('stop keeps the init running with nothing else left; start brings the service back', async (t) => {
  const init = startInit({ manifest: { version: 1, services: { web: { script: 'echo web-$$; exec sleep 60' } } } });
  t.teardown(() => init.cleanup());
  await init.waitFor('all stages done');
  const pid = row(await statusJson(init.stateDir), 'web').pid!;
  const stop = await runBerth(['stop', '--state-dir', init.stateDir, 'web']);
  t.is(stop.code, 0, stop.stderr);
  t.is(stop.stdout, 'web: stopped\n');
  t.false(isAlive(pid), 'stop returns once the service is gone');
  await sleep(1000);
  t.is(init.proc.exitCode, null, 'the init keeps running with nothing else running');
  const stopped = row(await statusJson(init.stateDir), 'web');
  t.is(stopped.state, 'stopped');
  t.is(stopped.want, 'down');
  t.is(stopped.restarts, 0, 'an operator stop is not a restart');
  t.notRegex(init.output(), /failed/);

  const start = await runBerth(['start', '--state-dir', init.stateDir, 'web']);
  t.is(start.code, 0, start.stderr);
  t.regex(start.stdout, /^web: started \(pid \d+\)\n$/);
  t.is(row(await statusJson(init.stateDir), 'web').state, 'up');
  await init.signal('SIGTERM');
  t.is((await init.exited).code, 0);
});

test('restart gives the service a new pid; restart of a crash-looping service is a stop and a start', async (t) => {
  const init = startInit({ manifest: { version: 1, services: { web: { script: 'exec sleep 60' }, other: { script: 'exec sleep 60' } } } });
  t.teardown(() => init.cleanup());
  await init.waitFor('all stages done');
  const before = await statusJson(init.stateDir);
  const r = await runBerth(['restart', '--state-dir', init.stateDir, 'web']);
  t.is(r.code, 0, r.stderr);
  const after = await statusJson(init.stateDir);
  t.not(row(after, 'web').pid, row(before, 'web').pid);
  t.false(isAlive(row(before, 'web').pid!));
  t.true(isAlive(row(after, 'web').pid!));
  t.is(row(after, 'other').pid, row(before, 'other').pid, 'the other service is untouched');
  t.regex(init.output(), /web: sending SIGTERM[\s\S]*web: stopped, killed by SIGTERM[\s\S]*web: started/);
});

test('a failed service can be started again; a start that fails again exits 1', async (t) => {
  const dir = tempDir();
  const flag = join(dir, 'ok');
  const init = startInit({
    dir,
    env: { S6_DONT_TERMINATE_ON_ERROR: '1' },
    manifest: { version: 1, services: { svc: { script: `test -f ${flag} || { echo not-yet; exit 3; }; exec sleep 60` }, task: { type: 'oneshot-post', script: `test -f ${flag}` } } },
  });
  t.teardown(() => init.cleanup());
  await init.waitFor('all stages done');
  t.is(row(await statusJson(init.stateDir), 'svc').state, 'failed');
  const again = await runBerth(['start', '--state-dir', init.stateDir, 'task']);
  t.is(again.code, 1);
  t.is(again.stderr, 'task: exited with code 1\n');
  spawn('touch', [flag]).once('close', () => {});
  await sleep(200);
  const start = await runBerth(['start', '--state-dir', init.stateDir, 'svc', 'task']);
  t.is(start.code, 0, start.stderr);
  t.regex(start.stdout, /svc: started \(pid \d+\)\ntask: ran to the end\n/);
  const rows = await statusJson(init.stateDir);
  t.is(row(rows, 'svc').state, 'up');
  t.is(row(rows, 'task').state, 'finished');
});

test('signal reaches the main process; bad signals, unknown services and missing names are usage errors', async (t) => {
  const init = startInit({ manifest: { version: 1, services: { web: { script: "trap 'echo got-hup' HUP; echo trapped; while :; do sleep 0.1; done" } } } });
  t.teardown(() => init.cleanup());
  await init.waitFor('trapped');
  const r = await runBerth(['signal', '--state-dir', init.stateDir, 'HUP', 'web']);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /^web: sent SIGHUP to pid \d+\n$/);
  await init.waitFor('got-hup');
  t.is(row(await statusJson(init.stateDir), 'web').state, 'up');

  const bad = await runBerth(['signal', '--state-dir', init.stateDir, 'NOPE', 'web']);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /unknown signal 'NOPE'/);
  const unknown = await runBerth(['restart', '--state-dir', init.stateDir, 'wbe']);
  t.is(unknown.code, 2);
  t.is(unknown.stderr, "berth restart: unknown service 'wbe'; did you mean 'web'?\n");
  const none = await runBerth(['stop', '--state-dir', init.stateDir]);
  t.is(none.code, 2);
  t.regex(none.stderr, /name at least one SERVICE/);
});

test('with no live init, every command names the state dir it tried and how to point at another (exit 2)', async (t) => {
  const dir = tempDir();
  t.teardown(() => runBerth(['--help']).then(() => undefined));
  for (const args of [['status', dir], ['status', '--state-dir', dir], ['stop', '--state-dir', dir, 'web'], ['signal', '--state-dir', dir, 'HUP', 'web']]) {
    const r = await runBerth(args);
    t.is(r.code, 2, args.join(' '));
    t.regex(r.stderr, new RegExp(`no live init owns the state dir ${dir}; name another with --state-dir DIR or BERTH_STATE_DIR`));
  }
  const viaEnv = await runBerth(['status'], { env: { BERTH_STATE_DIR: dir } });
  t.is(viaEnv.code, 2);
  t.regex(viaEnv.stderr, new RegExp(`state dir ${dir}`));
});

test('the control channel is owner-only: another uid cannot steer the init', async (t) => {
  const dir = tempDir();
  chmodSync(dir, 0o755); // the state dir's own mode is what must keep others out
  const init = startInit({ dir, manifest: { version: 1, services: { web: { script: 'exec sleep 60' } } } });
  t.teardown(() => init.cleanup());
  await init.waitFor('all stages done');
  const r = await runBerthVia(['setpriv', '--reuid', '65534', '--regid', '65534', '--clear-groups'], ['stop', '--state-dir', init.stateDir, 'web']);
  t.is(r.code, 2);
  t.regex(r.stderr, /permission denied on the state dir .*uid 0/);
  t.is(row(await statusJson(init.stateDir), 'web').state, 'up');
});

test('malformed requests get an error answer and the init keeps serving', async (t) => {
  const init = startInit({ manifest: { version: 1, services: { web: { script: 'exec sleep 60' } } } });
  t.teardown(() => init.cleanup());
  await init.waitFor('all stages done');
  const lines = ['not json', '[1,2]', '{"op":"launch"}', '{"op":"stop"}', '{"op":"stop","services":[1]}', '{"op":"status","x":1}', '{"op":"signal","services":["web"]}', '\u0000\u00ff', '{"op":"status"}'];
  const answers = (await rawRequest(init.stateDir, lines.map((l) => `${l}\n`).join(''), lines.length)).map((a) => JSON.parse(a));
  t.is(answers.length, lines.length);
  for (const a of answers.slice(0, -1)) {
    t.false(a.ok);
    t.is(a.kind, 'bad-request');
  }
  t.true(answers.at(-1).ok, 'a good request after bad ones on the same connection is answered');
  const huge = await rawRequest(init.stateDir, `{"op":"status","pad":"${'x'.repeat(100_000)}`, 1);
  t.regex(huge[0], /a request line is at most 65536 bytes/);
  t.is(row(await statusJson(init.stateDir), 'web').state, 'up');
  t.notRegex(init.output(), /internal error|Error:/);
});

test('200 clients at once, one that never reads and one that vanishes mid-request leave the init serving', async (t) => {
  const init = startInit({ manifest: { version: 1, services: { web: { script: 'exec sleep 60' } } } });
  t.teardown(() => init.cleanup());
  await init.waitFor('all stages done');
  // never reads: thousands of requests whose answers pile up unread
  const hog = connect(join(init.stateDir, 'control.sock'));
  hog.on('error', () => {});
  hog.write('{"op":"status"}\n'.repeat(20_000));
  // vanishes with half a request sent
  const vanish = connect(join(init.stateDir, 'control.sock'));
  vanish.on('error', () => {});
  vanish.write('{"op":"stop","serv', () => vanish.destroy());
  const answers = await Promise.all(Array.from({ length: 200 }, () => rawRequest(init.stateDir, '{"op":"status"}\n', 1, 30_000)));
  t.is(answers.filter((a) => JSON.parse(a[0]).ok).length, 200);
  const r = await runBerth(['restart', '--state-dir', init.stateDir, 'web']);
  t.is(r.code, 0, r.stderr);
  hog.destroy();
  t.is(init.proc.exitCode, null);
});

test('actions are refused once the shutdown has begun; status still answers', async (t) => {
  const init = startInit({
    // a grace long enough for the commands below to start on a loaded machine; the teardown kills it
    env: { S6_KILL_GRACETIME: '60000' },
    manifest: { version: 1, services: { slow: { script: "trap 'echo term-ignored' TERM; echo trapped; while :; do sleep 0.1 || :; done" } } },
  });
  t.teardown(() => init.cleanup());
  await init.waitFor('trapped');
  await init.signal('SIGTERM');
  await init.waitFor('term-ignored');
  const r = await runBerth(['start', '--state-dir', init.stateDir, 'slow']);
  t.is(r.stderr, 'berth start: the init is shutting down\n');
  t.is(r.code, 1);
  const [answer] = await rawRequest(init.stateDir, '{"op":"status"}\n', 1);
  t.is(JSON.parse(answer).result.init.phase, 'stopping');
});

test('berth status --watch redraws in place in a terminal until Ctrl-C', async (t) => {
  const init = startInit({ manifest: { version: 1, services: { web: { script: 'exec sleep 60' } } } });
  t.teardown(() => init.cleanup());
  await init.waitFor('all stages done');
  const { createRequire } = await import('node:module');
  const pty = createRequire(import.meta.url)('node-pty') as typeof import('node-pty');
  // node-pty may lose what a program writes just before the terminal closes (seen in CI): a shell keeps it open a
  // moment after berth exits, and passes its exit code on (`trap :` is reset in berth, so Ctrl-C reaches it as usual)
  const cli = `${JSON.stringify(process.execPath)} ${JSON.stringify(join(process.cwd(), 'dist/src/cli/main.js'))}`;
  const term = pty.spawn('/bin/sh', ['-c', `trap : INT; ${cli} status --watch --state-dir "$1"; code=$?; sleep 0.5; exit $code`, 'sh', init.stateDir], { cols: 120, rows: 20, env: process.env as Record<string, string> });
  let screen = '';
  term.onData((d) => (screen += d));
  const exited = new Promise<number>((resolve) => term.onExit(({ exitCode }) => resolve(exitCode)));
  const frames = (): number => screen.split('\x1b[H').length - 1;
  for (let i = 0; i < 100 && frames() < 2; i++) await sleep(100);
  t.true(frames() >= 2, `two frames drawn in place; screen: ${JSON.stringify(screen)}`);
  const last = screen.slice(screen.lastIndexOf('\x1b[H'));
  t.regex(last, /NAME +TYPE +STATE/);
  t.regex(last, /web +long-run +\x1b\[32mup/, 'the state is coloured on a terminal');
  t.regex(last, /every 1s, Ctrl-C to quit/);
  term.write('\x03');
  t.is(await exited, 0);
  t.true(screen.endsWith('\x1b[?25h'), `the cursor is shown again; screen ends: ${JSON.stringify(screen.slice(-80))}`);
});

test('as PID 1, status and restart work from inside the container', async (t) => {
  const init = startInit({ pid1: true, manifest: { version: 1, services: { web: { script: 'exec sleep 60' } } } });
  t.teardown(() => init.cleanup());
  await init.waitFor('all stages done');
  const inside = async (args: string[]): Promise<Ran> => runBerthVia(['nsenter', '--target', String(await init.initPid()), '--pid', '--mount'], args);
  const before = JSON.parse((await inside(['status', '--json', init.stateDir])).stdout) as Row[];
  t.is(before[0].state, 'up');
  t.true(before[0].memory > 0, 'stats are read in the container PID namespace');
  const r = await inside(['restart', '--state-dir', init.stateDir, 'web']);
  t.is(r.code, 0, r.stderr);
  const after = JSON.parse((await inside(['status', '--json', init.stateDir])).stdout) as Row[];
  t.not(after[0].pid, before[0].pid);
  const rec = await waitForRecord(init.stateDir, 'web', (x) => x.pid === after[0].pid);
  t.is(rec.state, 'up');
  await init.signal('SIGTERM');
  t.is((await init.exited).code, 0);
});


test('after a SIGKILL of the init, commands say no live init owns the dir, and the next init takes it and answers', async (t) => {
  const first = startInit({ manifest: { version: 1, services: { web: { script: 'exec sleep 60' } } } });
  t.teardown(() => first.cleanup());
  await first.waitFor('all stages done');
  // 'exit', not the helper's 'close': the orphaned service still holds the init's stdout
  const gone = new Promise((resolve) => first.proc.once('exit', resolve));
  first.proc.kill('SIGKILL');
  await gone;
  const r = await runBerth(['status', first.stateDir]);
  t.is(r.code, 2);
  t.regex(r.stderr, /no live init owns the state dir/);
  const second = startInit({ dir: first.dir, manifest: { version: 1, services: { web: { script: 'exec sleep 60' } } } });
  t.teardown(() => second.cleanup());
  await second.waitFor('all stages done');
  t.is(row(await statusJson(second.stateDir), 'web').state, 'up');
});

test('status of a dir whose init died says so, and how many of its processes are still alive, instead of stale rows', async (t) => {
  const init = startInit({ manifest: { version: 1, services: { web: { script: 'sleep 60 & echo child-$!; exec sleep 60' } } } });
  t.teardown(() => init.cleanup());
  const out = await init.waitFor(/child-\d+/);
  const child = Number(/child-(\d+)/.exec(out)![1]);
  await init.waitFor('all stages done');
  const gone = new Promise((resolve) => init.proc.once('exit', resolve));
  init.proc.kill('SIGKILL');
  await gone;
  const r = await runBerth(['status', init.stateDir]);
  t.is(r.code, 2);
  t.regex(r.stderr, new RegExp(`no live init owns the state dir ${init.stateDir}: its init \\(pid ${init.proc.pid}\\) is gone without a clean exit, and 1 of its services' processes is still running \\(pids ${child}\\); the next berth init on this dir stops them`));
  t.notRegex(r.stdout, /\bup\b/);
  process.kill(child, 'SIGKILL');
});
