// WallTimer: the jobs' timer on the wall clock (a timerfd): it fires when the
// clock reads the time it was set for, never before; at once for a time
// past; not at all once cancelled or closed; and when the clock is set.
// Serial: the last test sets the clock, which every armed timer hears.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { WallTimer } from '../../src/native/wall-timer.js';
import { findProgram } from '../../src/unix/find-program.js';

/** The times (Date.now()) and clockSet flags of a timer's firings. */
function recorded(): { timer: WallTimer; fired: Array<{ at: number; clockSet: boolean }>; next: () => Promise<{ at: number; clockSet: boolean }> } {
  const fired: Array<{ at: number; clockSet: boolean }> = [];
  let wake: (() => void) | undefined;
  const timer = new WallTimer((clockSet) => {
    fired.push({ at: Date.now(), clockSet });
    wake?.();
  });
  const next = (): Promise<{ at: number; clockSet: boolean }> => {
    const seen = fired.length;
    return new Promise((resolve) => {
      const check = (): void => (fired.length > seen ? resolve(fired[seen]) : void (wake = check));
      check();
    });
  };
  return { timer, fired, next };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test.serial('fires when the wall clock reads the time, not before, and once', async (t) => {
  const { timer, fired, next } = recorded();
  t.teardown(() => timer.close());
  const at = Date.now() + 300;
  timer.at(at);
  const got = await next();
  t.false(got.clockSet);
  t.true(got.at >= at, `fired ${at - got.at} ms early`);
  // generous: a loaded machine is late, never early
  t.true(got.at - at < 1000, `fired ${got.at - at} ms late`);
  await sleep(200);
  t.is(fired.length, 1);
});

test.serial('a time already past fires at once; a new time replaces the one before', async (t) => {
  const { timer, fired, next } = recorded();
  t.teardown(() => timer.close());
  const before = Date.now();
  timer.at(before - 60_000);
  const got = await next();
  t.true(got.at - before < 1000);
  timer.at(Date.now() + 60_000);
  timer.at(Date.now() + 100);
  await next();
  t.is(fired.length, 2);
});

test.serial('cancel() and close() mean no firing', async (t) => {
  const { timer, fired } = recorded();
  timer.at(Date.now() + 100);
  timer.cancel();
  await sleep(400);
  t.is(fired.length, 0, 'cancelled');
  timer.at(Date.now() + 100);
  timer.close();
  await sleep(400);
  t.is(fired.length, 0, 'closed');
  t.notThrows(() => timer.close(), 'closing twice is harmless');
});

/** Why this process cannot set the wall clock, or undefined when it can (CAP_SYS_TIME, and python3 to do it). */
function noClockSetting(): string | undefined {
  const eff = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'latin1'))?.[1];
  if (!eff || !((BigInt(`0x${eff}`) >> 25n) & 1n)) return 'setting the wall clock needs CAP_SYS_TIME';
  if (!findProgram('python3', process.env.PATH)) return 'python3 (which sets the clock here) is not installed';
  return undefined;
}

const cannotSet = noClockSetting();

// Sets the wall clock to what it reads, a set that moves it by microseconds:
// the kernel tells a timer armed with TFD_TIMER_CANCEL_ON_SET all the same.
(cannotSet ? test.skip : test.serial)(`a set of the wall clock fires it at once, saying so, however far away its time is${cannotSet ? ` (skipped: ${cannotSet})` : ''}`, async (t) => {
  const { timer, next } = recorded();
  t.teardown(() => timer.close());
  timer.at(Date.now() + 365 * 24 * 3600 * 1000);
  const fired = next();
  execFileSync('python3', ['-c', 'import time; time.clock_settime(time.CLOCK_REALTIME, time.time())'], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
  const got = await Promise.race([fired, sleep(5000).then(() => undefined)]);
  t.truthy(got, 'fired within 5 s of the clock being set');
  t.true(got!.clockSet);
});
