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
  // made for each question, not kept: a croner instance holds about 80 kB of heap (1,000 jobs: 80 MB), one made costs 0.2 ms
  return {
    after: (after) => new CronCtor(schedule.expression, { timezone, paused: true, legacyMode: true }).nextRun(new Date(after))?.getTime() ?? null,
  };
}
