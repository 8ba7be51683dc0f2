// systemd's notification protocol (readiness: { notify: true }) on real
// processes: Debian's systemd-notify, a Python client sending each kind of
// message, a sender from another service, malformed and oversized messages.
import test from 'ava';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runBerth, startInit, tempDir, waitForRecord } from '../helpers/init.js';

/** Debian's own Python: no version manager's shim in front (0.5 s a start on a busy machine) */
const PYTHON = '/usr/bin/python3';

/** Python's way to NOTIFY_SOCKET: '@' is the abstract namespace's NUL. */
const PY_SOCKET = `import array, os, socket, sys, time
addr = os.environ['NOTIFY_SOCKET']
addr = '\\0' + addr[1:] if addr.startswith('@') else addr
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
def send(data):
    sock.sendto(data, addr)
def barrier():
    # sd_notify_barrier: the init closes the pipe it is sent once it has read what came before
    r, w = os.pipe()
    sock.sendmsg([b'BARRIER=1'], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array('i', [w]))], 0, addr)
    os.close(w)
    os.read(r, 1)
def wait_for(path):
    while not os.path.exists(path):
        time.sleep(0.02)
`;

function script(dir: string, name: string, body: string): string {
  const file = join(dir, name);
  writeFileSync(file, PY_SOCKET + body);
  return file;
}

async function statusJson(stateDir: string): Promise<Record<string, unknown>[]> {
  const ran = await runBerth(['status', '--json', '--state-dir', stateDir]);
  if (ran.code !== 0) throw new Error(`berth status --json: exit ${ran.code}: ${ran.stdout}${ran.stderr}`);
  return JSON.parse(ran.stdout) as Record<string, unknown>[];
}

test("systemd-notify, a separate process of the service's, makes it ready; its STATUS= shows in berth status", async (t) => {
  const dir = tempDir();
  const init = startInit({
    dir,
    manifest: {
      version: 1,
      services: {
        db: { script: `while [ ! -f ${dir}/go ]; do sleep 0.05; done; systemd-notify --ready --status="accepting connections"; exec sleep 60`, readiness: { notify: true } },
        web: { after: ['db'], script: 'echo web-running; exec sleep 60' },
      },
    },
  });
  t.teardown(() => init.cleanup());
  await init.waitFor('db: started');
  const before = (await statusJson(init.stateDir)).find((r) => r.name === 'db')!;
  t.like(before, { state: 'starting', ready: false, statusText: null });
  t.false(init.output().includes('web-running'), 'web waits for db');
  writeFileSync(join(dir, 'go'), '');
  await init.waitFor('web: started');
  const db = (await statusJson(init.stateDir)).find((r) => r.name === 'db')!;
  t.like(db, { state: 'up', ready: true, statusText: 'accepting connections' });
  t.false('statusText' in (await statusJson(init.stateDir)).find((r) => r.name === 'web')!, 'a service without notify has no statusText');
  const table = await runBerth(['status', '--state-dir', init.stateDir]);
  t.regex(table.stdout, /NAME .* STATUS\n/);
  t.regex(table.stdout, /\ndb .* accepting connections\n/);
  t.regex(table.stdout, /\nweb .* -\n/);
  t.notRegex(init.output(), /refused|ignored/);
});

test('a Python client: STATUS, ERRNO, EXTEND_TIMEOUT_USEC past its startTimeout, RELOADING, READY, STOPPING; malformed and oversized messages are ignored with a line', async (t) => {
  const dir = tempDir();
  const client = script(dir, 'client.py', `
send(b'STATUS=warming up\\nERRNO=11')
send(b'EXTEND_TIMEOUT_USEC=15000000')
send(b'this is not KEY=VALUE')
send(b'STATUS=' + b'x' * 5000)
send(b'READY=1\\xff')
time.sleep(4)  # past its startTimeout of 2s: only the extension keeps it
send(b'READY=1\\nSTATUS=serving')
wait_for('reload')
send(b'RELOADING=1')
send(b'READY=1')
wait_for('stop')
send(b'STOPPING=1\\nSTATUS=')
time.sleep(60)
`);
  const init = startInit({ dir, manifest: { version: 1, services: { app: { execStart: [PYTHON, client], readiness: { notify: true }, startTimeout: '2s' } } } });
  t.teardown(() => init.cleanup());
  await init.waitFor(/app: ignored a notification of 5\d{3} bytes \(more than 4096\)/);
  await init.waitFor(/app: ignored a malformed notification from pid \d+: a line is not KEY=VALUE/);
  const starting = await waitForRecord(init.stateDir, 'app', () => true);
  t.is(starting.state, 'starting');
  const early = (await statusJson(init.stateDir))[0];
  t.like(early, { statusText: 'warming up', statusErrno: 11, ready: false });
  await init.waitFor('app: ready', 20_000);
  t.notRegex(init.output(), /not ready within/, 'EXTEND_TIMEOUT_USEC kept it past its startTimeout');
  t.like((await statusJson(init.stateDir))[0], { state: 'up', statusText: 'serving', statusErrno: 11 });
  writeFileSync(join(dir, 'reload'), '');
  await init.waitFor(/app: says it is reloading[\s\S]*app: says it has reloaded/);
  writeFileSync(join(dir, 'stop'), '');
  await init.waitFor('app: says it is stopping');
  await waitForRecord(init.stateDir, 'app', () => true);
  t.like((await statusJson(init.stateDir))[0], { state: 'up', statusText: null }, 'an empty STATUS= clears it');
  t.is(init.output().match(/malformed/g)?.length, 1, 'the second malformed message (not UTF-8) is counted, not said');
});

test("MAINPID= hands the service's voice to a process that left its session and its tree; without it that process is refused", async (t) => {
  const dir = tempDir();
  // the main process forks C, C makes a session and forks G, the main names G its main pid; C exits, so G is
  // reparented to the init, outside the main process's tree and session
  const client = script(dir, 'mainpid.py', `
hold_r, hold_w = os.pipe()
report_r, report_w = os.pipe()
go_r, go_w = os.pipe()
c = os.fork()
if c == 0:
    os.setsid()
    g = os.fork()
    if g == 0:
        os.close(hold_w)
        while os.getppid() == c:
            time.sleep(0.02)
        send(b'READY=1\\nSTATUS=from pid %d' % os.getpid())
        os.read(hold_r, 1)  # ends with the main process
        os._exit(0)
    os.write(report_w, b'%d\\n' % g)
    os.read(go_r, 1)
    os._exit(0)
g = int(os.read(report_r, 32))
if sys.argv[1] == 'name-it':
    send(b'MAINPID=%d' % g)
    barrier()
os.write(go_w, b'x')
os.waitpid(c, 0)
print('grandchild', g, flush=True)
time.sleep(60)
`);
  const init = startInit({
    dir,
    manifest: { version: 1, services: { named: { execStart: [PYTHON, client, 'name-it'], readiness: { notify: true } }, unnamed: { execStart: [PYTHON, client, 'no'], readiness: { notify: true } } } },
  });
  t.teardown(() => init.cleanup());
  await init.waitFor('named: ready');
  const named = (await statusJson(init.stateDir)).find((r) => r.name === 'named')!;
  const speaker = Number(/^from pid (\d+)$/.exec(String(named.statusText))?.[1]);
  t.true(speaker > 0 && speaker !== named.pid, `the grandchild spoke: ${String(named.statusText)}`);
  await init.waitFor(/refused a notification from pid \d+: not one of unnamed's processes/);
  t.like((await statusJson(init.stateDir)).find((r) => r.name === 'unnamed')!, { state: 'starting', ready: false, statusText: null });
});

test("a process of another service is refused (its READY=1 does not make this one ready), a flood of them is a line or two, and the init keeps answering", async (t) => {
  const dir = tempDir();
  const intruder = script(dir, 'intruder.py', `
wait_for('address')
addr = open('address').read()
addr = '\\0' + addr[1:] if addr.startswith('@') else addr
for i in range(500):
    sock.sendto(b'READY=1\\nSTATUS=intruder', addr)
print('intruder sent', os.getpid(), flush=True)
time.sleep(60)
`);
  const init = startInit({
    dir,
    manifest: {
      version: 1,
      services: {
        db: { script: `while [ ! -f ${dir}/go ]; do sleep 0.05; done; systemd-notify --ready; exec sleep 60`, readiness: { notify: true } },
        // not a notify service: it gets no NOTIFY_SOCKET of its own, the test hands it db's
        other: { execStart: [PYTHON, intruder], environment: { NOTIFY_SOCKET: '@unused' } },
      },
    },
  });
  t.teardown(() => init.cleanup());
  await init.waitFor('db: started');
  const db = await waitForRecord(init.stateDir, 'db', (r) => r.pid !== null);
  const address = /NOTIFY_SOCKET=([^\0]+)/.exec(readFileSync(`/proc/${db.pid}/environ`, 'latin1'))![1];
  t.regex(address, /^@berth\/[0-9a-f]{16}\/db$/);
  // renamed into place: the intruder waits for the file to exist, and must not read it half written (seen in CI)
  writeFileSync(join(dir, 'address.part'), address);
  renameSync(join(dir, 'address.part'), join(dir, 'address'));
  const sent = Number(/intruder sent (\d+)/.exec(await init.waitFor(/intruder sent \d+/))![1]);
  await init.waitFor(new RegExp(`refused a notification from pid ${sent}: not one of db's processes`));
  await new Promise((r) => setTimeout(r, 500));
  t.like((await statusJson(init.stateDir)).find((r) => r.name === 'db')!, { state: 'starting', ready: false, statusText: null });
  t.true((init.output().match(/refused a notification/g)?.length ?? 0) <= 2, 'a flood is not a line per datagram');
  writeFileSync(join(dir, 'go'), '');
  await init.waitFor('db: ready');
  t.is((await runBerth(['check', '--state-dir', init.stateDir])).code, 0);
});

test('watchdog: WATCHDOG_PID is its own pid; WATCHDOG=1 keeps it up past its watchdog; a miss or WATCHDOG=trigger ends it with SIGABRT, lastExit.reason watchdog, restarted; WATCHDOG_USEC= changes it', async (t) => {
  const dir = tempDir();
  const client = script(dir, 'watchdog.py', `
runs = len(os.listdir('runs'))
open('runs/%d' % runs, 'w').close()
print('run', runs, 'WATCHDOG_USEC', os.environ.get('WATCHDOG_USEC'), flush=True)
print('WATCHDOG_PID is my pid:', os.environ.get('WATCHDOG_PID') == str(os.getpid()), flush=True)
send(b'READY=1')
if runs == 0:
    for i in range(12):  # 2.4 s of pings, well past its 1 s watchdog
        time.sleep(0.2)
        send(b'WATCHDOG=1')
    print('pings over', flush=True)
elif runs == 1:
    send(b'WATCHDOG=trigger')
else:
    send(b'WATCHDOG_USEC=600000000')
    print('asked for 10 minutes', flush=True)
time.sleep(60)
`);
  mkdirSync(join(dir, 'runs'));
  const init = startInit({ dir, manifest: { version: 1, services: { app: { execStart: [PYTHON, client], readiness: { notify: true }, watchdog: '1s', restart: 'on-failure' } } } });
  t.teardown(() => init.cleanup());
  await init.waitFor('run 0 WATCHDOG_USEC 1000000');
  await init.waitFor('WATCHDOG_PID is my pid:');
  t.regex(init.output(), /WATCHDOG_PID is my pid: True/, 'sd_watchdog_enabled(3) checks WATCHDOG_PID against its own pid');
  await init.waitFor('pings over', 20_000);
  t.notRegex(init.output(), /SIGABRT/, 'pinged: not ended');
  await init.waitFor(/app: no WATCHDOG=1 within 1000 ms: sending SIGABRT/);
  const first = await waitForRecord(init.stateDir, 'app', (r) => r.restarts === 1);
  t.like(first.lastExit, { signal: 'SIGABRT', reason: 'watchdog' });
  await init.waitFor(/app: it sent WATCHDOG=trigger: sending SIGABRT/);
  await init.waitFor('asked for 10 minutes');
  await waitForRecord(init.stateDir, 'app', (r) => r.restarts === 2 && r.state === 'up');
  await new Promise((r) => setTimeout(r, 1500));
  const last = (await statusJson(init.stateDir))[0];
  t.like(last, { state: 'up', restarts: 2, lastExit: { reason: 'watchdog' } });
  t.is(init.output().match(/sending SIGABRT/g)?.length, 2, 'WATCHDOG_USEC= gave it 10 minutes');
});

test('as PID 1 of its own pid namespace, senders are known by their pids in it: systemd-notify makes the service ready', async (t) => {
  const init = startInit({
    pid1: true,
    manifest: { version: 1, services: { db: { script: 'systemd-notify --ready --status="as pid 1"; exec sleep 60', readiness: { notify: true } }, web: { after: ['db'], script: 'exec sleep 60' } } },
  });
  t.teardown(() => init.cleanup());
  await init.waitFor('web: started');
  t.like(await waitForRecord(init.stateDir, 'db', (r) => r.state === 'up'), { ready: true, statusText: 'as pid 1' });
  t.notRegex(init.output(), /refused/);
});
