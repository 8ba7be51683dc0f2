// Scheduled jobs on real processes: the schedule, the three concurrency
// rules, timeout, berth run, status/metrics/health, `after` with a
// startingDeadline, and (under libfaketime) DST days and wall-clock jumps.
import test, { type ExecutionContext } from 'ava';
import { execFile, execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runBerth, sleep, startInit, tempDir, waitForRecord, waitUntil, type InitRun } from '../helpers/init.js';

interface Family { name: string; type: string; metrics: Array<{ value: string; labels?: Record<string, string> }> }
const parsePrometheus = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => Family[];

interface JobRecord {
  name: string;
  state: string;
  schedule: string;
  nextRun: string | null;
  lastRun: { start: string; durationMs: number | null; code: number | null; signal: string | null } | null;
  runs: number;
  succeeded: number;
  failed: number;
  consecutiveFailures: number;
  skipped: number;
  lastSuccess: string | null;
  unhealthy: boolean;
}

const port = (): number => 20_000 + Math.floor(Math.random() * 20_000);
const count = (out: string, pattern: RegExp): number => (out.match(new RegExp(pattern.source, 'gm')) ?? []).length;
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

function curl(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    execFile('curl', ['-s', '-w', '\n%{http_code}', url], (_err, stdout) => {
      const at = stdout.lastIndexOf('\n');
      resolve({ status: Number(stdout.slice(at + 1)), body: stdout.slice(0, at) });
    });
  });
}

async function statusJson(stateDir: string): Promise<JobRecord[]> {
  const r = await runBerth(['status', '--json', '--state-dir', stateDir]);
  if (r.code !== 0) throw new Error(`status exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as JobRecord[];
}

const record = async (init: InitRun, name: string, ok: (r: JobRecord) => boolean = () => true, timeoutMs?: number): Promise<JobRecord> =>
  (await waitForRecord(init.stateDir, name, (r) => ok(r as unknown as JobRecord), timeoutMs)) as unknown as JobRecord;

/** The processes whose command line holds `token` and whose parent's does not: one per run (not its $(…) subshells). */
function runsHolding(token: string): number[] {
  const cmdline = (pid: string): string => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'latin1');
    } catch {
      return '';
    }
  };
  const parent = (pid: string): string => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return fields[0] === 'Z' ? '' : fields[1];
    } catch {
      return '';
    }
  };
  const found: number[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid) || !cmdline(pid).includes(token)) continue;
    const ppid = parent(pid);
    if (ppid && !cmdline(ppid).includes(token)) found.push(Number(pid));
  }
  return found;
}

/** Samples the runs of a job every 20 ms until stopped: the most seen at once, and every pid seen. */
function watchRuns(token: string): { stop(): { most: number; pids: Set<number> } } {
  let most = 0;
  const pids = new Set<number>();
  const timer = setInterval(() => {
    const now = runsHolding(token);
    most = Math.max(most, now.length);
    for (const p of now) pids.add(p);
  }, 20);
  return {
    stop() {
      clearInterval(timer);
      return { most, pids };
    },
  };
}

/** The start and end times (ms) each run wrote to `file`, by pid. */
function intervals(file: string): Array<{ pid: number; start: number; end?: number }> {
  const runs = new Map<number, { pid: number; start: number; end?: number }>();
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  for (const [, what, pid, ns] of text.matchAll(/^(start|end) (\d+) (\d+)$/gm)) {
    const at = Number(BigInt(ns) / 1_000_000n);
    if (what === 'start') runs.set(Number(pid), { pid: Number(pid), start: at });
    else runs.get(Number(pid))!.end = at;
  }
  return [...runs.values()];
}

const KEEP = { script: 'exec sleep 120' };

test('a 6-field every-second job runs each second, on the second, its lines prefixed with its name', async (t) => {
  const init = startInit({
    manifest: {
      version: 1,
      services: {
        keep: KEEP,
        tick: { type: 'scheduled', schedule: '* * * * * *', logging: { format: 'prefix' }, script: 'echo "tick-at $(date +%s%N)"' },
      },
    },
  });
  t.teardown(() => init.cleanup());
  await init.waitFor('scheduling 1 job');
  const since = Date.now();
  const out = await init.waitFor((o) => count(o, /^tick +\| tick-at \d+$/) >= 3, 5500);
  t.log(`3 runs in ${Date.now() - since} ms`);
  t.notRegex(out, /^tick-at/m, 'every line of the job comes through its prefix');
  const late = [...out.matchAll(/^tick +\| tick-at (\d+)$/gm)].map(([, ns]) => Number(BigInt(ns) % 1_000_000_000n) / 1e6);
  t.log(`each run's first line, ms after its second: ${late.map((ms) => ms.toFixed(1)).join(', ')}`);
  for (const ms of late) t.true(ms < 500, `a run started ${ms} ms after its second`);
  t.regex(out, /\[berth\] tick: started \(pid \d+\)/);
  t.regex(out, /\[berth\] tick: exited with code 0/);
  const r = await record(init, 'tick', (x) => x.succeeded >= 3);
  t.is(r.failed, 0);
  t.is(r.schedule, '* * * * * *');
  t.is(Date.parse(r.nextRun!) % 1000, 0, 'next due on a second');
});

/** A job due every second whose runs take 2.5 s, under `concurrency`; watched for `ms`. */
async function overlap(concurrency: 'forbid' | 'allow' | 'replace', ms: number) {
  const dir = tempDir();
  const log = join(dir, 'runs');
  const token = `${dir}/runs`;
  const init = startInit({
    dir,
    manifest: {
      version: 1,
      services: {
        keep: KEEP,
        slow: {
          type: 'scheduled',
          schedule: '@every 1s',
          concurrency,
          script: `echo "start $$ $(date +%s%N)" >> ${token}; sleep 2.5; echo "end $$ $(date +%s%N)" >> ${token}`,
        },
      },
    },
  });
  await init.waitFor('scheduling 1 job');
  const watch = watchRuns(token);
  await sleep(ms);
  const seen = watch.stop();
  // the output first: the record, read after it, may count a skip more, never less
  const out = init.output();
  const rec = (await statusJson(init.stateDir)).find((r) => r.name === 'slow')!;
  return { init, seen, runs: intervals(log), rec, out };
}

test('concurrency: forbid skips a run due while the last one runs, counts and logs it, never two at once', async (t) => {
  const { init, seen, runs, rec, out } = await overlap('forbid', 6000);
  t.teardown(() => init.cleanup());
  t.log(`runs: ${JSON.stringify(runs)}; most at once: ${seen.most}; skipped: ${rec.skipped}`);
  t.is(seen.most, 1, 'never two runs at once');
  t.true(seen.pids.size >= 2, 'a run starts again once the last one ended');
  for (let i = 1; i < runs.length; i++) t.true(runs[i].start >= runs[i - 1].end!, `run ${i} starts after run ${i - 1} ended`);
  t.true(rec.skipped >= 2, `skipped ${rec.skipped}`);
  t.true(count(out, /\[berth\] slow: skipped the run due at \d{4}-\S+Z: the last run is still going \(pid \d+; concurrency: forbid\)$/) >= 2, out);
  // each skip is logged once: no due time twice, and every skip counted by the time the record was read is logged
  // (a busy machine may count more between reading the output and the record, so the output is read again after)
  const dues = [...out.matchAll(/slow: skipped the run due at (\S+):/g)].map((m) => m[1]);
  t.is(new Set(dues).size, dues.length, `a skip logged twice: ${dues.join(' ')}`);
  const later = await init.waitFor((o) => count(o, /slow: skipped/) >= rec.skipped, 5000).catch(() => init.output());
  t.true(count(later, /slow: skipped/) >= rec.skipped, `${count(later, /slow: skipped/)} lines, ${rec.skipped} counted`);
});

test('concurrency: allow starts a run beside the running one', async (t) => {
  const { init, seen, runs, rec } = await overlap('allow', 4500);
  t.teardown(() => init.cleanup());
  t.log(`runs: ${JSON.stringify(runs)}; most at once: ${seen.most}`);
  t.true(seen.most >= 2, `two runs at once (most seen: ${seen.most})`);
  t.true(runs.some((a) => runs.some((b) => a !== b && a.start < b.start && (a.end === undefined || a.end > b.start))), 'their times overlap');
  t.is(rec.skipped, 0);
  // the runs end on their own: none was stopped
  const ended = await record(init, 'slow', (r) => r.succeeded >= 2 && r.lastRun?.durationMs !== null);
  t.log(ended.lastRun);
  t.is(ended.failed, 0);
  t.true(ended.lastRun!.durationMs! >= 2400 && ended.lastRun!.durationMs! < 3500, `the last run took ${ended.lastRun!.durationMs} ms (its own start, not the next run's)`);
  await init.signal('SIGTERM');
  t.is((await init.exited).code, 0);
  t.deepEqual(runsHolding(`${init.dir}/runs`), [], 'the shutdown stopped every run');
});

test('concurrency: allow: berth stop, and a reload that removes the job, stop the runs beside its own too', async (t) => {
  const dir = tempDir();
  const job = (token: string): object => ({ type: 'scheduled', schedule: '@every 1s', concurrency: 'allow', script: `: ${token}; sleep 30; true` });
  const [stopToken, reloadToken] = [`${dir}/stopped`, `${dir}/reloaded`];
  const init = startInit({ dir, manifest: { version: 1, services: { keep: KEEP, many: job(stopToken), more: job(reloadToken) } } });
  t.teardown(() => init.cleanup());
  await waitUntil('3 runs at once of each', () => runsHolding(stopToken).length >= 3 && runsHolding(reloadToken).length >= 3, { timeoutMs: 10_000 });
  const stop = await runBerth(['stop', '--state-dir', init.stateDir, 'many']);
  t.is(stop.code, 0, stop.stderr);
  t.deepEqual(runsHolding(stopToken), [], 'stop returns once every run of the job is gone');
  const stopped = await record(init, 'many');
  t.is(stopped.state, 'stopped');
  t.is(stopped.nextRun, null);

  writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ version: 1, services: { keep: KEEP, many: job(stopToken) } }));
  const reload = await runBerth(['reload', '--state-dir', init.stateDir]);
  t.is(reload.code, 0, reload.stderr);
  t.deepEqual(runsHolding(reloadToken), [], 'the reload stopped every run of the job it removed');
  await sleep(1200);
  t.deepEqual(runsHolding(stopToken), [], 'no runs while stopped');
  t.deepEqual(runsHolding(reloadToken), []);
});

test('concurrency: replace stops the running run with SIGTERM and starts the next', async (t) => {
  const { init, seen, runs, out, rec } = await overlap('replace', 4500);
  t.teardown(() => init.cleanup());
  t.log(`runs: ${JSON.stringify(runs)}; most at once: ${seen.most}; record: runs ${rec.runs}, failed ${rec.failed}, last ${JSON.stringify(rec.lastRun)}`);
  t.true(count(out, /\[berth\] slow: replaced by its next run \(concurrency: replace\): sending SIGTERM$/) >= 2, out);
  t.regex(out, /slow: killed by SIGTERM/);
  t.is(seen.most, 1, 'the new run starts once the replaced one is gone');
  t.true(runs.length >= 3, `${runs.length} runs`);
  t.true(runs.every((r) => r.end === undefined), 'no run of 2.5 s ever got to its end');
  for (let i = 1; i < runs.length; i++) {
    const gap = runs[i].start - runs[i - 1].start;
    t.true(gap > 700 && gap < 1500, `run ${i} started ${gap} ms after the one it replaced`);
  }
});

test('timeout: a run past it gets its stop signal, then SIGKILL after stopTimeout; both count as failed', async (t) => {
  const init = startInit({
    manifest: {
      version: 1,
      services: {
        keep: KEEP,
        // every 3 s: a timed-out run's record stays the last one for a while before the next run starts (under load too)
        slow: { type: 'scheduled', schedule: '@every 3s', timeout: '1s', script: 'echo slow-$$; sleep 30' },
        deaf: { type: 'scheduled', schedule: '@every 3s', timeout: '1s', stopTimeout: '500ms', script: "trap '' TERM; echo deaf-$$; sleep 30" },
      },
    },
  });
  t.teardown(() => init.cleanup());
  await init.waitFor(/\[berth\] slow: still running after its timeout \(1000 ms\): sending SIGTERM/, 10_000);
  await init.waitFor(/\[berth\] deaf: still running after its timeout \(1000 ms\): sending SIGTERM/, 10_000);
  await init.waitFor(/\[berth\] deaf: .*sending SIGKILL/, 10_000);
  const slow = await record(init, 'slow', (r) => r.failed >= 1 && r.lastRun?.durationMs !== null);
  t.log(JSON.stringify(slow.lastRun));
  t.is(slow.lastRun!.signal, 'SIGTERM');
  t.true(slow.lastRun!.durationMs! >= 1000 && slow.lastRun!.durationMs! < 2000, `took ${slow.lastRun!.durationMs} ms`);
  t.is(slow.succeeded, 0);
  t.true(slow.consecutiveFailures >= 1);
  const deaf = await record(init, 'deaf', (r) => r.failed >= 1 && r.lastRun?.durationMs !== null);
  t.log(JSON.stringify(deaf.lastRun));
  t.is(deaf.lastRun!.signal, 'SIGKILL');
  t.true(deaf.lastRun!.durationMs! >= 1500 && deaf.lastRun!.durationMs! < 3000, `took ${deaf.lastRun!.durationMs} ms`);
  t.is(deaf.succeeded, 0);
  t.is(init.proc.exitCode, null, 'a failed run of a job does not end the init');
});

test('berth run: exits with the run\'s code, runs a job due in a year, is refused under forbid while a run goes; berth start runs it too', async (t) => {
  const dir = tempDir();
  const init = startInit({
    dir,
    manifest: {
      version: 1,
      services: {
        keep: KEEP,
        seven: { type: 'scheduled', schedule: '@yearly', script: 'echo seven-ran; exit 7' },
        long: { type: 'scheduled', schedule: '@yearly', script: `echo long-$$-ran; while [ ! -f ${dir}/go ]; do sleep 0.05; done` },
      },
    },
  });
  t.teardown(() => init.cleanup());
  await init.waitFor('scheduling 2 jobs');
  const before = await record(init, 'seven');
  t.is(before.runs, 0);
  t.true(Date.parse(before.nextRun!) - Date.now() > 0, `next run ${before.nextRun}`);
  const seven = await runBerth(['run', '--state-dir', init.stateDir, 'seven']);
  t.log(seven);
  t.is(seven.code, 7);
  t.regex(seven.stdout + seven.stderr, /^seven: ran: exited with code 7\n$/);
  t.regex(init.output(), /seven-ran/);
  const after = await record(init, 'seven', (r) => r.runs === 1);
  t.is(after.failed, 1);
  t.is(after.lastRun!.code, 7);
  t.is(after.nextRun, before.nextRun, 'a run by hand does not move the schedule');

  const first = runBerth(['run', '--state-dir', init.stateDir, 'long']);
  await init.waitFor(/long-\d+-ran/);
  const refused = await runBerth(['run', '--state-dir', init.stateDir, 'long']);
  t.log(refused);
  t.is(refused.code, 1);
  t.regex(refused.stderr, /^long: the last run is still going \(pid \d+; concurrency: forbid\)\n$/);
  writeFileSync(join(dir, 'go'), '');
  const done = await first;
  t.is(done.code, 0, done.stderr);
  t.is(done.stdout, 'long: ran: exited with code 0\n');
  t.is(count(init.output(), /long-\d+-ran/), 1, 'the refused run did not start');

  const start = await runBerth(['start', '--state-dir', init.stateDir, 'seven']);
  t.log(start);
  t.is(start.code, 1, 'start reports the failed run');
  t.is(start.stderr, 'seven: ran: exited with code 7\n');
  t.is(count(init.output(), /seven-ran/), 2);
  t.is((await record(init, 'seven', (r) => r.runs === 2)).failed, 2);
  const unknown = await runBerth(['run', '--state-dir', init.stateDir, 'keep']);
  t.is(unknown.code, 1);
  t.regex(unknown.stderr, /keep: not a scheduled job/);
});

test('status, metrics and health: every job field; failureThreshold makes it unhealthy until a run succeeds', async (t) => {
  const dir = tempDir();
  const p = port();
  const base = `http://127.0.0.1:${p}`;
  const init = startInit({
    dir,
    env: { BERTH_HTTP: `127.0.0.1:${p}` },
    manifest: {
      version: 1,
      services: {
        keep: KEEP,
        good: { type: 'scheduled', schedule: '* * * * * *', script: 'true' },
        // fails its runs until the test writes `ok`; counts them
        flaky: {
          type: 'scheduled',
          schedule: '@every 1s',
          failureThreshold: 2,
          script: `n=$(cat ${dir}/count 2>/dev/null || echo 0); echo $((n + 1)) > ${dir}/count; test -f ${dir}/ok`,
        },
      },
    },
  });
  t.teardown(() => init.cleanup());
  await init.waitFor(`serving /healthz, /readyz and /metrics on 127.0.0.1:${p}`);
  await record(init, 'good', (r) => r.succeeded >= 1);
  const flaky = await record(init, 'flaky', (r) => r.consecutiveFailures >= 2);
  t.true(flaky.unhealthy);

  let good: JobRecord | undefined;
  for (let tries = 0; !good && tries < 20; tries++) good = (await statusJson(init.stateDir)).find((r) => r.name === 'good' && r.lastRun?.durationMs !== null);
  if (!good) return t.fail('good was never seen between runs');
  t.log(good);
  t.is(good.schedule, '* * * * * *');
  t.regex(good.nextRun!, ISO);
  // the next second after the run that was just seen (not after now: `berth status` samples for 250 ms and more under load)
  const ahead = Date.parse(good.nextRun!) - Date.parse(good.lastRun!.start);
  t.true(ahead > 0 && ahead <= 1000, `next run ${ahead} ms after the last started`);
  t.regex(good.lastRun!.start, ISO);
  t.true(Date.now() - Date.parse(good.lastRun!.start) < 3000);
  t.true(good.lastRun!.durationMs! >= 0 && good.lastRun!.durationMs! < 1000);
  t.is(good.lastRun!.code, 0);
  t.is(good.lastRun!.signal, null);
  t.true(good.runs >= 1);
  t.is(good.succeeded + good.failed, good.runs);
  t.is(good.failed, 0);
  t.is(good.consecutiveFailures, 0);
  t.is(good.skipped, 0);
  t.regex(good.lastSuccess!, ISO);
  t.is(good.unhealthy, false);

  const text = await runBerth(['status', init.stateDir]);
  t.is(text.code, 0);
  t.log(text.stdout);
  t.regex(text.stdout, /^JOB +SCHEDULE +NEXT RUN +LAST RUN +TOOK +RESULT +FAILURES +SKIPPED$/m);
  t.regex(text.stdout, /^good +\* \* \* \* \* \* +\S/m);
  t.regex(text.stdout, /^flaky +@every 1s +\S.* (?:[2-9]|[1-9]\d+) +0$/m);

  const asked = Date.now() / 1000;
  const families = parsePrometheus((await curl(`${base}/metrics`)).body);
  const value = (name: string, service: string, extra: Record<string, string> = {}): number => {
    const m = families.find((f) => f.name === name)?.metrics.find((x) => x.labels?.service === service && Object.entries(extra).every(([k, v]) => x.labels?.[k] === v));
    return m ? Number(m.value) : Number.NaN;
  };
  const now = Date.now() / 1000;
  for (const job of ['good', 'flaky']) {
    t.true(Math.abs(value('berth_job_last_start_timestamp_seconds', job) - now) < 5, job);
    t.true(value('berth_job_last_duration_seconds', job) >= 0, job);
    // due no earlier than when /metrics was asked, give or take a timer that fires late on a loaded machine
    t.true(value('berth_job_next_run_timestamp_seconds', job) > asked - 2, `${job}: next run ${value('berth_job_next_run_timestamp_seconds', job)}, asked at ${asked}`);
    t.true(value('berth_job_runs_total', job, { result: 'skipped' }) === 0, job);
  }
  t.true(Math.abs(value('berth_job_last_success_timestamp_seconds', 'good') - now) < 5);
  t.is(value('berth_job_last_success_timestamp_seconds', 'flaky'), 0);
  t.true(value('berth_job_runs_total', 'good', { result: 'success' }) >= 1);
  t.is(value('berth_job_runs_total', 'good', { result: 'failure' }), 0);
  t.true(value('berth_job_runs_total', 'flaky', { result: 'failure' }) >= 2);
  t.is(value('berth_job_runs_total', 'flaky', { result: 'success' }), 0);

  const sick = await curl(`${base}/healthz`);
  t.is(sick.status, 503);
  t.regex(sick.body, /flaky/);
  t.notRegex(sick.body, /good/);
  const live = await runBerth(['check', '--live', '--state-dir', init.stateDir]);
  t.is(live.code, 1);
  t.regex(live.stdout, /^unhealthy: flaky \(\d+ failed runs in a row\)\n$/);

  writeFileSync(join(dir, 'ok'), '');
  const healed = await record(init, 'flaky', (r) => r.succeeded >= 1);
  t.is(healed.consecutiveFailures, 0);
  t.false(healed.unhealthy);
  t.is((await curl(`${base}/healthz`)).status, 200);
  t.is((await runBerth(['check', '--live', '--state-dir', init.stateDir])).code, 0);
});

test('after: runs wait for the long-run to be ready; with startingDeadline the early due runs are skipped and counted', async (t) => {
  const dir = tempDir();
  const ready = join(dir, 'ready');
  const p = port();
  const init = startInit({
    dir,
    env: { BERTH_HTTP: `127.0.0.1:${p}` },
    manifest: {
      version: 1,
      services: {
        dep: { script: `sleep 3; date +%s%N > ${ready}.tmp; mv ${ready}.tmp ${ready}; exec sleep 120`, readiness: { exec: ['test', '-f', ready], interval: '100ms' } },
        eager: { type: 'scheduled', schedule: '* * * * * *', after: ['dep'], startingDeadline: '500ms', script: 'echo "eager-at $(date +%s%N)"' },
        patient: { type: 'scheduled', schedule: '* * * * * *', after: ['dep'], script: 'echo "patient-at $(date +%s%N)"' },
      },
    },
  });
  t.teardown(() => init.cleanup());
  await init.waitFor(/eager-at \d+[\s\S]*patient-at|patient-at \d+[\s\S]*eager-at/, 10_000);
  const readyAt = Number(BigInt(readFileSync(ready, 'utf8').trim()) / 1_000_000n);
  const out = init.output();
  for (const job of ['eager', 'patient']) {
    const first = Number(BigInt(new RegExp(`${job}-at (\\d+)`).exec(out)![1]) / 1_000_000n);
    t.log(`${job}: first run ${first - readyAt} ms after dep was ready`);
    t.true(first >= readyAt, `${job} ran before dep was ready`);
    t.true(first - readyAt < 1500, `${job} ran ${first - readyAt} ms after dep was ready`);
  }
  t.true(out.indexOf('eager-at') > out.indexOf('[berth] dep: ready'));
  const eager = await record(init, 'eager');
  t.log(eager);
  t.true(eager.skipped >= 2, `eager skipped ${eager.skipped}`);
  t.true(count(out, /\[berth\] eager: skipped the run due at \S+: dep \(starting\) not ready within its startingDeadline \(500 ms\)$/) >= 2, out);
  t.is(count(out, /eager: skipped/), eager.skipped);
  const metrics = parsePrometheus((await curl(`http://127.0.0.1:${p}/metrics`)).body);
  const skipped = metrics.find((f) => f.name === 'berth_job_runs_total')?.metrics.find((m) => m.labels?.service === 'eager' && m.labels.result === 'skipped');
  t.is(Number(skipped?.value), (await record(init, 'eager')).skipped, 'berth_job_runs_total{result="skipped"}');
  // without a deadline the first due run waits for dep; those due while it waits are skipped
  const patient = await record(init, 'patient');
  t.log(patient);
  t.true(patient.runs >= 1);
  t.regex(out, /\[berth\] patient: skipped the run due at \S+: the run before it still waits for what it starts after$/m);
});

// A faked wall clock: libfaketime preloaded into the init (and its children),
// with Node's timers left on the real monotonic clock. The fake time is an
// offset from the real one, in a file libfaketime re-reads at every call, so
// the test can jump it while the init runs. (Not the faketime command: the
// FAKETIME variable it sets wins over the file.)
const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';

function fakeClock(dir: string, at: string): { env: Record<string, string>; set(at: string): void; now(): number } {
  const file = join(dir, 'faketime.rc');
  let offset = 0;
  const set = (iso: string): void => {
    offset = Date.parse(iso) - Date.now();
    writeFileSync(file, `${offset >= 0 ? '+' : ''}${(offset / 1000).toFixed(3)}\n`);
  };
  set(at);
  return {
    env: { LD_PRELOAD: LIBFAKETIME, FAKETIME_TIMESTAMP_FILE: file, FAKETIME_NO_CACHE: '1', FAKETIME_DONT_FAKE_MONOTONIC: '1', TZ: 'UTC' },
    set,
    now: () => Date.now() + offset,
  };
}

/** Why the faked-clock tests cannot run here, or undefined when they can. */
function faketimeProblem(): string | undefined {
  if (!existsSync(LIBFAKETIME)) return `libfaketime is not installed (${LIBFAKETIME})`;
  const dir = tempDir('berth-faketime-');
  try {
    const clock = fakeClock(dir, '2026-03-29T00:59:50.000Z');
    const script = 'const a = Date.now(), t = process.hrtime.bigint(); setTimeout(() => console.log(a, Date.now() - a, Number(process.hrtime.bigint() - t) / 1e6), 200)';
    const [at, wall, mono] = execFileSync(process.execPath, ['-e', script], { env: { ...process.env, ...clock.env }, timeout: 10_000, encoding: 'utf8' }).trim().split(' ').map(Number);
    if (Math.abs(at - Date.parse('2026-03-29T00:59:50.000Z')) > 5000) return `node under libfaketime reads ${new Date(at).toISOString()}, not the faked 2026-03-29T00:59:50Z`;
    if (wall < 150 || wall > 2000 || mono < 150 || mono > 2000) return `node's clocks under libfaketime do not advance as they should (wall ${wall} ms, monotonic ${mono} ms for a 200 ms timer)`;
    return undefined;
  } catch (err) {
    return `node under libfaketime failed: ${(err as Error).message}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Kills the init, and removes what libfaketime left in /dev/shm: the first faked process (here the init: setpriv
 * execs it) makes a semaphore and a segment named by its pid, removed only when it exits normally; a stale pair
 * makes a later process with that pid fail to start.
 */
async function fakeCleanup(init: InitRun): Promise<void> {
  await init.cleanup();
  for (const f of [`/dev/shm/faketime_shm_${init.proc.pid}`, `/dev/shm/sem.faketime_sem_${init.proc.pid}`]) rmSync(f, { force: true });
}

const noFaketime = faketimeProblem();
const fakeTest = (title: string, body: (t: ExecutionContext) => Promise<void>): void => {
  if (noFaketime) test.skip(`${title} (skipped: ${noFaketime})`, body);
  else test(title, body);
};

/** The fake times (ISO, from the job's own `date`) at which `job` printed `JOB-ran`. */
const ranAt = (out: string, job: string): string[] => [...out.matchAll(new RegExp(`^${job}-ran (\\S+)$`, 'gm'))].map((m) => m[1]);
const JOB_SCRIPT = (name: string): string => `echo "${name}-ran $(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)"`;

/** An init under a fake clock starting at `at`, with `services` beside the long-run the jobs keep company; cleaned up after the test. */
function fakeInit(t: ExecutionContext, at: string, services: Record<string, unknown>): { init: InitRun; clock: ReturnType<typeof fakeClock> } {
  const dir = tempDir();
  const clock = fakeClock(dir, at);
  const init = startInit({ dir, env: clock.env, manifest: { version: 1, services: { keep: KEEP, ...services } } });
  t.teardown(() => fakeCleanup(init));
  return { init, clock };
}

fakeTest('DST spring-forward: 02:30 Europe/Paris on 2026-03-29 (a time that does not exist) runs once, right after the jump to 03:00', async (t) => {
  // 01:59:52 CET: time to start, on a loaded machine
  const { init, clock } = fakeInit(t, '2026-03-29T00:59:52.000Z', {
    dst: { type: 'scheduled', schedule: '0 30 2 * * *', timezone: 'Europe/Paris', script: JOB_SCRIPT('dst') },
  });
  await init.waitFor('scheduling 1 job');
  const armed = await record(init, 'dst');
  t.log(`armed at fake ${new Date(clock.now()).toISOString()}; next run ${armed.nextRun}`);
  t.is(armed.nextRun, '2026-03-29T01:00:00.000Z', '03:00 CEST, right after the jump');
  await init.waitFor(/^dst-ran /m, 15_000);
  await waitUntil('the fake clock passes 01:00:04Z', () => clock.now() > Date.parse('2026-03-29T01:00:04Z'), { timeoutMs: 15_000, everyMs: 100 });
  const runs = ranAt(init.output(), 'dst');
  t.log(runs);
  t.is(runs.length, 1);
  t.true(Date.parse(runs[0]) >= Date.parse('2026-03-29T01:00:00Z') && Date.parse(runs[0]) < Date.parse('2026-03-29T01:00:01Z'), runs[0]);
  const after = await record(init, 'dst', (r) => r.lastRun?.durationMs !== null);
  t.is(after.runs, 1);
  t.is(after.nextRun, '2026-03-30T00:30:00.000Z', 'the next day: 02:30 CEST');
});

fakeTest('DST fall-back: 02:30 Europe/Paris on 2026-10-25 (a time that happens twice) runs once', async (t) => {
  // 02:29:52 CEST
  const { init, clock } = fakeInit(t, '2026-10-25T00:29:52.000Z', {
    dst: { type: 'scheduled', schedule: '0 30 2 * * *', timezone: 'Europe/Paris', script: JOB_SCRIPT('dst') },
    // keeps the scheduler's timer waking each second, so a clock jump is noticed at once
    beat: { type: 'scheduled', schedule: '* * * * * *', script: 'true' },
  });
  await init.waitFor('scheduling 2 jobs');
  t.log(`armed at fake ${new Date(clock.now()).toISOString()}`);
  t.is((await record(init, 'dst')).nextRun, '2026-10-25T00:30:00.000Z', '02:30 CEST');
  await init.waitFor(/^dst-ran /m, 15_000);
  const first = await record(init, 'dst', (r) => r.runs === 1 && r.lastRun?.durationMs !== null);
  t.log(`first run ${first.lastRun!.start}; next run ${first.nextRun}`);
  // just before 02:30 CET
  const beats = count(init.output(), /beat: started/);
  clock.set('2026-10-25T01:29:57.000Z');
  await init.waitFor((o) => count(o, /beat: started/) > beats, 5000);
  await waitUntil('the fake clock passes 01:30:04Z', () => clock.now() > Date.parse('2026-10-25T01:30:04Z'), { timeoutMs: 15_000, everyMs: 100 });
  const runs = ranAt(init.output(), 'dst');
  t.log(runs);
  t.is(runs.length, 1, 'no second run at 02:30 CET');
  t.true(runs[0].startsWith('2026-10-25T00:30:00.'), runs[0]);
  const rec = await record(init, 'dst');
  t.is(rec.runs, 1);
  t.is(rec.skipped, 0);
  t.is(rec.nextRun, '2026-10-26T01:30:00.000Z', 'the next day: 02:30 CET');
  t.true(count(init.output(), /beat: exited with code 0/) >= 5, 'the clock kept running');
});

fakeTest('wall-clock jumps: 3 h forward gives one late run, not a burst; 1 h back runs no cron time twice, and @every goes on', async (t) => {
  const { init, clock } = fakeInit(t, '2026-06-01T10:59:53.000Z', {
    hourly: { type: 'scheduled', schedule: '0 0 * * * *', script: JOB_SCRIPT('hourly') },
    beat: { type: 'scheduled', schedule: '* * * * * *', script: 'true' },
    period: { type: 'scheduled', schedule: '@every 2s', script: 'true' },
  });
  await init.waitFor('scheduling 3 jobs');
  await init.waitFor(/^hourly-ran /m, 15_000);
  t.true(ranAt(init.output(), 'hourly')[0].startsWith('2026-06-01T11:00:00.'), 'on time');
  const beats = (): number => count(init.output(), /beat: started/);

  // forward 3 h: 12:00 and 13:00 were missed; one late run now, then 14:00 on time (10 s later: a loaded machine's
  // beats may lag by seconds, and the count below must come before 14:00)
  clock.set('2026-06-01T13:59:50.000Z');
  await init.waitFor((o) => ranAt(o, 'hourly').length >= 2, 5000);
  const seen = beats();
  await init.waitFor(() => beats() >= seen + 2, 5000);
  t.is(ranAt(init.output(), 'hourly').length, 2, 'one late run for the two missed hours, not a burst');
  t.true(ranAt(init.output(), 'hourly')[1].startsWith('2026-06-01T13:59:5'), ranAt(init.output(), 'hourly')[1]);
  await init.waitFor((o) => ranAt(o, 'hourly').length >= 3, 15_000);
  t.true(ranAt(init.output(), 'hourly')[2].startsWith('2026-06-01T14:00:00.'), ranAt(init.output(), 'hourly')[2]);
  const forward = await record(init, 'hourly', (r) => r.runs === 3 && r.lastRun?.durationMs !== null);
  t.is(forward.nextRun, '2026-06-01T15:00:00.000Z');
  t.is(forward.skipped, 0);

  // back 1 h: 13:00 comes round again; its (late) run is done, and the next due stays 15:00. (The every-second
  // beat keeps its planned time too, an hour away. The kernel sees no clock set under libfaketime: the timer armed
  // before the jump fires, the init sees the clock went back, and @every's next time, from now, is the soonest.)
  const periods = count(init.output(), /period: started/);
  clock.set('2026-06-01T12:59:57.000Z');
  await waitUntil('the fake clock passes 13:00:03Z', () => clock.now() > Date.parse('2026-06-01T13:00:03Z'), { timeoutMs: 15_000, everyMs: 100 });
  t.log(ranAt(init.output(), 'hourly'));
  t.is(ranAt(init.output(), 'hourly').length, 3, 'nothing ran again');
  const rec = await record(init, 'hourly');
  t.is(rec.runs, 3);
  t.is(rec.nextRun, '2026-06-01T15:00:00.000Z');
  // a period, not a time of day: it went on after the jump
  t.true(count(init.output(), /period: started/) >= periods + 2, `@every 2s ran ${count(init.output(), /period: started/) - periods} times in the 6 s after the clock went back`);
});
