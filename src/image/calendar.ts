// systemd timer values as Berth schedules: an OnCalendar= expression as a
// cron expression (plus its time zone), a time span as `@every DURATION`.
// Only forms cron can say exactly are translated; the rest is an error with
// the reason, so a timer never runs at times other than its unit's.

export interface CronSchedule { schedule: string; timezone?: string }

export const CALENDAR_FORMS =
  'minutely, hourly, daily, weekly, monthly, quarterly, semiannually, yearly (annually), ' +
  'or [WEEKDAYS] [*-MONTH-DAY] [HH:MM[:SS]] [TIME ZONE] with *, numbers, lists (Mon,Wed or 1,15), ' +
  'ranges (Mon..Fri or 1..5) and repetitions (*:0/15), as in "Mon..Fri *-*-* 09:30 Europe/Paris"';

/** systemd's shorthands, in its own long form (systemd.time(7)). */
const SHORTHANDS: Record<string, string> = {
  minutely: '*-*-* *:*:00',
  hourly: '*-*-* *:00:00',
  daily: '*-*-* 00:00:00',
  weekly: 'Mon *-*-* 00:00:00',
  monthly: '*-*-01 00:00:00',
  quarterly: '*-01,04,07,10-01 00:00:00',
  semiannually: '*-01,07-01 00:00:00',
  yearly: '*-01-01 00:00:00',
  annually: '*-01-01 00:00:00',
};

interface Field { name: string; min: number; max: number }
const SECOND: Field = { name: 'second', min: 0, max: 59 };
const MINUTE: Field = { name: 'minute', min: 0, max: 59 };
const HOUR: Field = { name: 'hour', min: 0, max: 23 };
const DAY: Field = { name: 'day of month', min: 1, max: 31 };
const MONTH: Field = { name: 'month', min: 1, max: 12 };

/** Monday first, as systemd counts; cron numbers them 1-6 and Sunday 0 (7 closes a range). */
const WEEKDAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'];

type Result<T> = T | { error: string };
const isError = (r: unknown): r is { error: string } => typeof r === 'object' && r !== null && 'error' in r;

/** The cron expression (6 fields, seconds first, only when a second other than 0 is named) and time zone of OnCalendar= text. */
export function calendarToCron(text: string): Result<CronSchedule> {
  let tokens = text.trim().split(/\s+/).filter(Boolean);
  if (!tokens.length) return { error: 'it is empty' };
  let timezone: string | undefined;
  const last = tokens[tokens.length - 1];
  if (tokens.length > 1 && /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/.test(last) && isError(weekdays(last))) {
    if (!isTimeZone(last)) return { error: `it ends with '${last}', which is not a time zone (use an IANA name such as UTC or Europe/Paris)` };
    timezone = last;
    tokens = tokens.slice(0, -1);
  }
  if (tokens.length === 1 && Object.hasOwn(SHORTHANDS, tokens[0])) tokens = SHORTHANDS[tokens[0]].split(' ');

  let dow = '*';
  let date = { month: '*', day: '*' };
  let time: string[] = ['0', '0', '0'];
  let i = 0;
  if (i < tokens.length && /^[A-Za-z]/.test(tokens[i])) {
    const parsed = weekdays(tokens[i++]);
    if (isError(parsed)) return parsed;
    dow = parsed;
  }
  if (i < tokens.length && tokens[i].includes('-') && !tokens[i].includes(':')) {
    const parsed = parseDate(tokens[i++]);
    if (isError(parsed)) return parsed;
    date = parsed;
  }
  if (i < tokens.length && tokens[i].includes(':')) {
    const parsed = parseTime(tokens[i++]);
    if (isError(parsed)) return parsed;
    time = parsed;
  }
  if (i < tokens.length) {
    return { error: `'${tokens[i]}' is not a weekday, date, time or time zone in its place (the order is WEEKDAYS DATE TIME TIME-ZONE)` };
  }
  // systemd runs when the weekday AND the day match; cron when either does.
  if (dow !== '*' && date.day !== '*') return { error: 'it names both weekdays and days of the month: systemd runs when both match, cron when either does' };
  const [hour, minute, second] = time;
  const five = [minute, hour, date.day, date.month, dow].join(' ');
  return { schedule: second === '0' ? five : `${second} ${five}`, ...(timezone === undefined ? {} : { timezone }) };
}

/** `Mon..Fri,Sun` → `1-5,0`. */
function weekdays(text: string): Result<string> {
  const out: string[] = [];
  for (const item of text.split(',')) {
    const [from, to, ...rest] = item.split(/\.\.|-/);
    const a = weekday(from);
    const b = to === undefined ? a : weekday(to);
    if (a < 0 || b < 0 || rest.length) return { error: `'${item}' is not a weekday or a range of them (Mon, Mon..Fri)` };
    if (to === undefined) out.push(String(a % 7));
    else if (a <= b) out.push(`${a}-${b}`);
    else return { error: `the weekday range '${item}' runs past Sunday; list the days instead (Sat,Sun,Mon)` };
  }
  return out.join(',');
}

/** 1 (Monday) to 7 (Sunday), or -1. systemd takes the full name or its first three letters, in any case. */
function weekday(text: string): number {
  const lower = text.toLowerCase();
  const i = WEEKDAYS.findIndex((day) => day === lower || day.slice(0, 3) === lower);
  return i < 0 ? -1 : i + 1;
}

/** `*-MM-DD` or `MM-DD`; the year must be `*`, since cron has no year. */
function parseDate(text: string): Result<{ month: string; day: string }> {
  if (text.includes('~')) return { error: `'~' (days counted from the end of the month) in '${text}' has no cron equivalent` };
  const parts = text.split('-');
  if (parts.length !== 2 && parts.length !== 3) return { error: `'${text}' is not a date (YEAR-MONTH-DAY or MONTH-DAY)` };
  if (parts.length === 3 && parts[0] !== '*') return { error: `the year in '${text}' has no cron field; write * for it` };
  const [month, day] = parts.slice(-2);
  const m = component(month, MONTH);
  if (isError(m)) return m;
  const d = component(day, DAY);
  if (isError(d)) return d;
  return { month: m, day: d };
}

/** `HH:MM[:SS]` → [hour, minute, second] as cron fields. */
function parseTime(text: string): Result<string[]> {
  const parts = text.split(':');
  if (parts.length !== 2 && parts.length !== 3) return { error: `'${text}' is not a time (HH:MM or HH:MM:SS)` };
  const fields = [HOUR, MINUTE, SECOND];
  const out: string[] = [];
  for (const [i, part] of [...parts, ...(parts.length === 2 ? ['00'] : [])].entries()) {
    if (/\d\.\d/.test(part)) return { error: `fractions of a second ('${part}') are not supported` };
    const c = component(part, fields[i]);
    if (isError(c)) return c;
    out.push(c);
  }
  return out;
}

/** One field: `*`, `5`, `1,15`, `1..5`, `0/15`, `8..18/2` (systemd refuses a repetition of `*`). */
function component(text: string, field: Field): Result<string> {
  const out: string[] = [];
  for (const item of text.split(',')) {
    const m = /^(?:(\*)|(\d{1,4})(?:\.\.(\d{1,4}))?(?:\/(\d{1,4}))?)$/.exec(item);
    if (!m) return { error: `${field.name} '${item}' is not *, a number, a range (1..5) or a repetition (0/15)` };
    const [, star, a, b, step] = m;
    for (const n of [a, b]) {
      if (n !== undefined && (Number(n) < field.min || Number(n) > field.max)) {
        return { error: `${field.name} ${Number(n)} is out of range ${field.min}-${field.max}` };
      }
    }
    if (b !== undefined && Number(b) < Number(a)) return { error: `the ${field.name} range '${item}' runs backwards` };
    if (star && text !== '*') return { error: `${field.name} '${text}': '*' stands alone, never in a list` };
    if (step !== undefined && Number(step) < 1) return { error: `the repetition in ${field.name} '${item}' must be at least 1` };
    // as systemd: a repetition must repeat at least once
    if (step !== undefined && b === undefined && Number(a) + Number(step) > field.max) {
      return { error: `the ${field.name} repetition '${item}' never repeats (${Number(a)} + ${Number(step)} is past ${field.max})` };
    }
    const base = star ? '*' : b !== undefined ? `${Number(a)}-${Number(b)}`
      // systemd's `5/15` is from 5 to the end, every 15
      : step !== undefined ? (Number(a) === field.min ? '*' : `${Number(a)}-${field.max}`) : String(Number(a));
    out.push(step === undefined ? base : `${base}/${Number(step)}`);
  }
  return out.join(',');
}

/** Whether this Node knows `name` as a time zone. */
function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** systemd.time(7) units, in milliseconds; case matters (`m` minutes, `M` months). */
const SPAN_UNITS: Record<string, number> = {
  ms: 1, msec: 1,
  '': 1000, s: 1000, sec: 1000, second: 1000, seconds: 1000,
  m: 60_000, min: 60_000, minute: 60_000, minutes: 60_000,
  h: 3_600_000, hr: 3_600_000, hour: 3_600_000, hours: 3_600_000,
  d: 86_400_000, day: 86_400_000, days: 86_400_000,
  w: 604_800_000, week: 604_800_000, weeks: 604_800_000,
  M: 2_629_800_000, month: 2_629_800_000, months: 2_629_800_000,
  y: 31_557_600_000, year: 31_557_600_000, years: 31_557_600_000,
};

/** A systemd time span (`15min`, `2h 30min`, `90`) as a Berth duration (`15m`, `150m`, `90s`). */
export function timeSpanToDuration(value: string | number): Result<string> {
  const text = String(value).trim();
  const re = /(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*/y;
  let ms = 0;
  let m: RegExpExecArray | null;
  while (re.lastIndex < text.length && (m = re.exec(text))) {
    const unit = SPAN_UNITS[m[2]];
    if (unit === undefined) return { error: `'${m[2]}' in '${text}' is not a time unit (ms, s, min, h, d, w)` };
    ms += Number(m[1]) * unit;
  }
  if (!text || re.lastIndex < text.length) return { error: `'${text}' is not a time span` };
  ms = Math.round(ms * 1000) / 1000;
  if (!Number.isInteger(ms) || ms <= 0) return { error: `'${text}' is not a whole, positive number of milliseconds` };
  // Berth durations have at most 9 digits: the largest unit that divides the span exactly.
  for (const [unit, size] of [['h', 3_600_000], ['m', 60_000], ['s', 1000], ['ms', 1]] as const) {
    if (ms % size === 0 && ms / size < 1e9) return `${ms / size}${unit}`;
  }
  return { error: `'${text}' is too long for a Berth duration (9 digits at most); round it to whole hours` };
}
