// A job's schedule as berth validate reads it: what is accepted, and each
// mistake named the way a person reads the expression, at its place in the file.
import test from 'ava';
import { checkManifest, formatProblem } from '../../src/manifest/index.js';
import { parseSchedule } from '../../src/manifest/schedule.js';

const error = (text: string): string => {
  const parsed = parseSchedule(text);
  return 'error' in parsed ? parsed.error : 'accepted';
};

test('cron with 5 or 6 fields, names, ranges, lists, steps, and the @ names are schedules', (t) => {
  for (const ok of ['0 2 * * *', '*/15 * * * *', '0 9 * * mon-fri', '0 0 1 jan,jul *', '5/15 * * * *', '0 0 * * 7', '@daily', '@hourly', '@weekly', '@monthly', '@yearly', '@every 30s', '@every 2h', '0 0 29 2 *']) {
    t.is(error(ok), 'accepted', ok);
  }
  const weekly = parseSchedule('@weekly');
  t.like(weekly, { kind: 'cron', expression: '0 0 * * 0', seconds: false });
  t.like(parseSchedule('*/5 * * * * *'), { kind: 'cron', seconds: true });
  t.deepEqual(parseSchedule('@every 90s'), { kind: 'every', ms: 90_000 });
  // croner refuses 5/15; it gets the same schedule as a range
  t.like(parseSchedule('5/15 * * * *'), { expression: '5-59/15 * * * *' });
});

test('each mistake says which field and what is wrong with it', (t) => {
  t.is(error('0 0 32 * *'), 'day-of-month 32 out of range 1-31');
  t.is(error('60 * * * *'), 'minute 60 out of range 0-59');
  t.is(error('0 24 * * *'), 'hour 24 out of range 0-23');
  t.is(error('0 0 * 13 *'), 'month 13 out of range 1-12');
  t.is(error('0 0 * * 8'), 'day-of-week 8 out of range 0-7');
  t.is(error('0 0 * * funday'), "day-of-week 'funday' is not a number or a name (sun-sat)");
  t.is(error('0 0 * *'), '4 fields; a schedule has 5 (minute hour day-of-month month day-of-week) or 6 (seconds first)');
  t.is(error('0 0 0 * * * 2026'), '7 fields; a schedule has 5 (minute hour day-of-month month day-of-week) or 6 (seconds first)');
  t.is(error('0 5-2 * * *'), 'hour range 5-2 runs backwards; write 2-5 the other way round');
  t.is(error('*/0 * * * *'), 'minute step /0 out of range 1-59');
  t.is(error('0 0 31 2 *'), 'never runs: no month it names has day 31');
  t.is(error('@fortnightly'), "unknown name '@fortnightly'; use @hourly, @daily, @weekly, @monthly, @yearly or \"@every DURATION\"");
  t.is(error('@every 500ms'), "'@every 500ms' is shorter than 1s; a job runs at most once a second");
  t.is(error('@every often'), "'@every' takes a duration such as 30s, 15m or 2h, not 'often'");
  t.is(error('0 0 L * *'), "day-of-month 'L' is not a number");
});

const check = (services: Record<string, unknown>, text?: string) => checkManifest({ version: 1, services }, 'm.yaml', text).problems.map(formatProblem);

test('berth validate locates a bad schedule and time zone, and job fields on other services', (t) => {
  const text = 'version: 1\nservices:\n  backup:\n    type: scheduled\n    schedule: "0 0 32 * *"\n    timezone: Mars/Olympus\n    script: backup\n';
  t.deepEqual(check({ backup: { type: 'scheduled', schedule: '0 0 32 * *', timezone: 'Mars/Olympus', script: 'backup' } }, text), [
    `m.yaml:5:15: services.backup.schedule: day-of-month 32 out of range 1-31; a schedule is cron: 5 fields (minute hour day-of-month month day-of-week), 6 with seconds first, @hourly, @daily, @weekly, @monthly, @yearly, or "@every DURATION" (30s, 15m, 2h)`,
    "m.yaml:6:15: services.backup.timezone: unknown time zone 'Mars/Olympus'; use an IANA name such as UTC, Europe/Paris or America/New_York",
  ]);
  t.deepEqual(check({ job: { type: 'scheduled', script: 'x' } }), [
    'm.yaml:1:1: services.job: missing \'schedule\': a scheduled job needs one (for example "0 2 * * *", @hourly or "@every 10m")',
  ]);
  t.deepEqual(check({ web: { script: 'x', schedule: '@daily', timeout: '1m' } }), [
    'm.yaml:1:1: services.web.schedule: applies to scheduled jobs only (type: scheduled); this service is a long-run',
    'm.yaml:1:1: services.web.timeout: applies to scheduled jobs only (type: scheduled); this service is a long-run',
  ]);
  t.deepEqual(check({ job: { type: 'scheduled', schedule: '@daily', script: 'x', restart: 'always', readiness: { tcp: { port: 1 } } } }), [
    'm.yaml:1:1: services.job.readiness: applies to long-runs only: a job is not restarted: its schedule runs it again',
    'm.yaml:1:1: services.job.restart: applies to long-runs only: a job is not restarted: its schedule runs it again',
  ]);
});

test('nothing may start after a job; a job may wait for a long-run, not for a oneshot-post', (t) => {
  t.deepEqual(check({
    web: { script: 'x', after: ['job'] },
    job: { type: 'scheduled', schedule: '@daily', script: 'x', after: ['web', 'post'] },
    post: { type: 'oneshot-post', script: 'x' },
  }), [
    "m.yaml:1:1: services.web.after[0]: a long-run cannot start after the scheduled 'job': a scheduled job runs on its schedule, so nothing can start after it",
    "m.yaml:1:1: services.job.after[1]: a scheduled cannot start after the oneshot-post 'post': a job's runs wait for long-runs, and a oneshot-post runs only once",
  ]);
});

test('a job is not essential unless it says so; its fields are normalised', (t) => {
  const { manifest } = checkManifest({ version: 1, services: { a: { type: 'scheduled', schedule: '@every 1m', script: 'x', timeout: '30s', startingDeadline: 5000 }, b: { type: 'scheduled', schedule: '@daily', script: 'x', essential: true }, c: { script: 'x' } } }, 'm.yaml');
  t.false(manifest!.services.a.essential);
  t.true(manifest!.services.b.essential);
  t.true(manifest!.services.c.essential);
  t.deepEqual(manifest!.services.a.job, { schedule: { kind: 'every', ms: 60_000 }, scheduleText: '@every 1m', concurrency: 'forbid', timeoutMs: 30_000, startingDeadlineMs: 5000 });
});
