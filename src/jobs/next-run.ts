// When a job is next due. Calendar arithmetic across time zones and DST is
// croner's (see docs/jobs.md for why croner): on the day clocks go forward a
// time that does not exist runs right after the jump, on the day they go
// back a time that happens twice runs once. `@every` is plain arithmetic from
// when the schedule was armed.
import type { Cron } from 'croner';
import type { Schedule } from '../manifest/index.js';

export interface NextRun {
  /** the first due time strictly after `after` (ms since the epoch), or null when the schedule has none */
  after(after: number): number | null;
}

type CronClass = typeof Cron;

/** croner, loaded once the first job is armed: an init without jobs never reads it. */
let cron: Promise<CronClass> | undefined;
export function loadCron(): Promise<CronClass> {
  cron ??= import('croner').then((m) => m.Cron);
  return cron;
}

/** `timezone`: an IANA name, already checked. `armedAt`: where `@every` counts from. */
export function nextRunOf(CronCtor: CronClass, schedule: Schedule, timezone: string, armedAt: number): NextRun {
  if (schedule.kind === 'every') {
    const { ms } = schedule;
    // before armedAt (the clock was set back since): a period from now
    return { after: (after) => (after < armedAt ? after + ms : armedAt + (Math.floor((after - armedAt) / ms) + 1) * ms) };
  }
  return { after: (after) => cronFor(CronCtor, schedule.expression, timezone).nextRun(new Date(after))?.getTime() ?? null };
}

/**
 * A croner instance holds about 80 kB of heap (its year field is an array of
 * 10,000), so one is not kept per job: jobs with the same schedule and zone
 * share one, and at most CACHED are kept; the rest are made when asked
 * (0.2 ms each) and collected.
 */
const CACHED = 16;
const cache = new Map<string, Cron>();

function cronFor(CronCtor: CronClass, expression: string, timezone: string): Cron {
  const key = `${expression}\0${timezone}`;
  let c = cache.get(key);
  if (c) {
    cache.delete(key); // most recently used last
  } else {
    // UTC as an offset: croner then computes without Intl's time-zone formatting, which grows the heap outside V8's
    c = new CronCtor(expression, { ...(timezone === 'UTC' ? { utcOffset: 0 } : { timezone }), paused: true, legacyMode: true });
    if (cache.size >= CACHED) cache.delete(cache.keys().next().value!);
  }
  cache.set(key, c);
  return c;
}
