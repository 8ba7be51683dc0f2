// A fast writer's relay pipe is read through a second pipe of the init's own
// (splice, then read), so the service's copies and the init's overlap. Where
// a seccomp profile refuses splice, the relay reads the pipe directly: the
// same bytes, nothing lost. A flood also grows the init's stdout pipe.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { startInit, type InitRun } from '../helpers/init.js';
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
