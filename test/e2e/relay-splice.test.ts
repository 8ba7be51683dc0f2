// A fast writer's relay pipe is read through a second pipe of the init's own
// (splice, then read), so the service's copies and the init's overlap. Where
// a seccomp profile refuses splice, the relay reads the pipe directly: the
// same bytes, nothing lost. A flood also grows the init's stdout pipe. In
// the plain format its whole lines are spliced to stdout without being read:
// the same output as a relay that reads them.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { runBerth, startInit, tempDir, type InitRun } from '../helpers/init.js';
import { buildDenySyscall } from '../helpers/seccomp.js';

const LINES = 30_000; // of 100 bytes, in writes of 1 MB: the relay pipe fills at once
const FLOOD = `perl -e '$b = ""; for $i (1..${LINES}) { $b .= sprintf("%099d\\n", $i); if (length($b) >= 1e6) { syswrite(STDOUT, $b); $b = "" } } syswrite(STDOUT, $b)'; echo flood-done; exec sleep 60`;

/** The pipes the init holds open now. */
function pipeFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).filter((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('pipe:');
    } catch {
      return false; // closed while we looked
    }
  }).length;
}

/** The capacity of the pipe that is `pid`'s stdout (F_GETPIPE_SZ, through /proc: Node has no fcntl). */
function stdoutPipeBytes(pid: number): number {
  return Number(execFileSync('python3', ['-c', `import fcntl; print(fcntl.fcntl(open('/proc/${pid}/fd/1'), 1032))`], { encoding: 'utf8' }));
}

/** The flood's lines as they came out of the init: every number once, in order, whole. */
function floodIntact(output: string): boolean {
  const lines = output.split('\n').filter((l) => /^\d{99}$/.test(l));
  return lines.length === LINES && lines.every((l, i) => Number(l) === i + 1) && !/\d{100}|\d{1,98}\[berth\]/.test(output);
}

/** The init, its stdout a pipe to `cat` (as a container engine reads it; the test's own end would be a socket), under `prefix` (a wrapper) if given. */
function flood(prefix: string[] = []): InitRun {
  return startInit({ manifest: { version: 1, services: { loud: { script: FLOOD } } }, wrap: (argv) => [...prefix, 'sh', '-c', '"$@" | cat', 'sh', ...argv] });
}

/** The init's pid: the node child of the shell that pipes it to cat. */
function nodeUnder(shell: number): number {
  const children = readFileSync(`/proc/${shell}/task/${shell}/children`, 'utf8').trim().split(' ').map(Number);
  const pid = children.find((c) => readFileSync(`/proc/${c}/cmdline`, 'latin1').includes('main.js'));
  if (pid === undefined) throw new Error(`no init among the children of ${shell}: ${children.join(' ')}`);
  return pid;
}

test('a fast writer is read through a second pipe, and with splice refused (seccomp) straight from its own; both lose nothing and grow the init\'s stdout pipe', async (t) => {
  const deny = buildDenySyscall(t);
  if (!deny) return;
  const via = flood();
  const direct = flood([deny, 'splice']);
  t.teardown(() => Promise.all([via.cleanup(), direct.cleanup()]));
  await Promise.all([via.waitFor('flood-done', 60_000), direct.waitFor('flood-done', 60_000)]);
  const viaPid = nodeUnder(via.proc.pid!);
  const directPid = nodeUnder(direct.proc.pid!);
  t.regex(readFileSync(`/proc/${directPid}/status`, 'utf8'), /^Seccomp:\s+2$/m, 'the second init runs under the filter');
  t.true(floodIntact(via.output()), 'through the second pipe: every line, whole and in order');
  t.true(floodIntact(direct.output()), 'read directly: every line, whole and in order');
  // the same init and service in both: the only difference is the go-between's two ends
  t.is(pipeFds(viaPid) - pipeFds(directPid), 2);
  // a flood also grows the init's stdout, a pipe here as under a container engine
  t.is(stdoutPipeBytes(viaPid), 1024 * 1024);
  t.is(stdoutPipeBytes(directPid), 1024 * 1024);
});

/** numbered lines of 100 bytes in writes of 1 MB: among the first 30,000, every 5,000 a line of 64 KiB − 1, 64 KiB or 64 KiB + 1 (which the relay cuts, and which keeps a chunk from being spliced); then only short ones */
const MIXED_LINES = LINES + 100_000;
const MIXED = `perl -e '$b = ""; for $i (1..${MIXED_LINES}) { $b .= sprintf("%099d\\n", $i); $b .= ("x" x (65535 + ($i / 5000) % 3)) . "\\n" if $i % 5000 == 0 && $i <= ${LINES}; if (length($b) >= 1e6) { syswrite(STDOUT, $b); $b = "" } } syswrite(STDOUT, $b)'; echo flood-done; exec sleep 60`;

/** What the init wrote of its service's output: every line but its own. */
function serviceLines(output: string): string[] {
  return output.split('\n').filter((l) => l !== '' && !l.startsWith('[berth]'));
}

test('plain lines of a fast writer are spliced to a piped stdout unread: the same lines as a relay that reads them (long ones cut alike), berth logs has whole ones, and the init writes a fraction of the bytes', async (t) => {
  const deny = buildDenySyscall(t);
  if (!deny) return;
  const dir = tempDir();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const manifest = { version: 1, services: { loud: { script: MIXED } } };
  // stdout a pipe that cat drains into a file, as fast as an engine reads it (the test's own end would be slower)
  const piped = (file: string, prefix: string[] = []) => (argv: string[]) => [...prefix, 'sh', '-c', 'out=$1; shift; "$@" | cat > "$out"', 'sh', file, ...argv];
  const spliced = startInit({ manifest, wrap: piped(join(dir, 'spliced')) });
  const read = startInit({ manifest, wrap: piped(join(dir, 'read'), [deny, 'splice']) });
  // the inits' output goes to cat, not to the harness, which then cannot see their services: each init is stopped
  // (SIGTERM: it stops its service) before the harness's cleanup
  t.teardown(async () => {
    for (const init of [spliced, read]) {
      try {
        process.kill(nodeUnder(init.proc.pid!), 'SIGTERM');
      } catch {
        // gone already
      }
    }
    await Promise.all([spliced.cleanup(), read.cleanup()]);
  });
  const done = async (file: string): Promise<string> => {
    for (let i = 0; i < 600; i++) {
      const text = existsSync(file) ? readFileSync(file, 'latin1') : '';
      if (text.includes('flood-done')) return text;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no flood-done in ${file} within 60 s`);
  };
  const [out, reference] = await Promise.all([done(join(dir, 'spliced')), done(join(dir, 'read'))]);
  const lines = serviceLines(out);
  const expected = serviceLines(reference);
  t.is(lines.length, expected.length);
  t.true(lines.every((l, i) => l === expected[i]), 'line for line what the relay that reads wrote');
  t.is(lines.filter((l) => /^\d{99}$/.test(l)).length, MIXED_LINES);
  t.true(lines.every((l) => l.length <= 65536), 'lines over 64 KiB cut, as the reading relay cuts them');
  // what the init wrote (wchar) of the ~13.4 MB: the chunks with a long line, and what stdout would not take at once
  // (how much depends on how fast cat reads: 5.7-8.3 MB here); a relay that read every byte would write them all
  const io = Object.fromEntries(readFileSync(`/proc/${nodeUnder(spliced.proc.pid!)}/io`, 'utf8').trim().split('\n').map((l) => l.split(': ')).map(([k, v]) => [k, Number(v)]));
  const bytes = lines.reduce((n, l) => n + l.length + 1, 0);
  t.log(`relayed ${bytes} bytes; the init read ${io.rchar} and wrote ${io.wchar}`);
  t.true(io.wchar < 0.9 * bytes, `wrote ${io.wchar} of ${bytes}`);
  // the recent lines: every one kept (64 KiB: ~650 of them) whole, the last ones, none missing between them
  const logs = await runBerth(['logs', 'loud', '-n', '1000', '--state-dir', spliced.stateDir]);
  t.is(logs.code, 0, logs.stderr);
  const recent = logs.stdout.trim().split('\n');
  t.is(recent.pop(), 'flood-done');
  t.true(recent.length >= 600, `${recent.length} lines kept`);
  t.deepEqual(recent, Array.from({ length: recent.length }, (_, i) => String(MIXED_LINES - recent.length + 1 + i).padStart(99, '0')));
});
