// A job's `schedule`, checked field by field so that a mistake is named the
// way a person reads the expression ("day-of-month 32 out of range 1-31"),
// not the way a parser fails. The calendar arithmetic itself is croner's, in
// the jobs room; this file only says whether an expression is one Berth runs.
import { parseDuration } from './duration.js';

/** A schedule as the jobs room runs it. */
export type Schedule =
  | { kind: 'cron'; expression: string; seconds: boolean; fields: CronFields }
  | { kind: 'every'; ms: number };

/** The values each field allows, seconds first (0 when the expression has 5 fields); day-of-week 7 is folded into 0. */
export interface CronFields {
  second: number[];
  minute: number[];
  hour: number[];
  dayOfMonth: number[];
  month: number[];
  dayOfWeek: number[];
  /** whether day-of-month and day-of-week were both restricted: then either one matching is enough, as cron has it */
  eitherDay: boolean;
}

interface Field {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
}

const SECOND: Field = { name: 'second', min: 0, max: 59 };
const FIVE: readonly Field[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'] },
  { name: 'day-of-week', min: 0, max: 7, names: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] },
];

/** The names cron users know, as the five fields they stand for. */
const NICKNAMES: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

/** `@every` runs no more often than this: a shorter period is a busy loop, not a schedule. */
const MIN_EVERY_MS = 1000;

export const SCHEDULE_HINT =
  'cron: 5 fields (minute hour day-of-month month day-of-week), 6 with seconds first, ' +
  '@hourly, @daily, @weekly, @monthly, @yearly, or "@every DURATION" (30s, 15m, 2h)';

/** The schedule, or why the text is not one. */
export function parseSchedule(text: string): Schedule | { error: string } {
  const trimmed = text.trim();
  if (trimmed.startsWith('@every')) {
    const rest = trimmed.slice('@every'.length).trim();
    const ms = rest ? parseDuration(rest) : undefined;
    if (ms === undefined) return { error: `'@every' takes a duration such as 30s, 15m or 2h, not '${rest}'` };
    if (ms < MIN_EVERY_MS) return { error: `'@every ${rest}' is shorter than 1s; a job runs at most once a second` };
    return { kind: 'every', ms };
  }
  if (trimmed.startsWith('@')) {
    const five = NICKNAMES[trimmed.toLowerCase()];
    if (!five) return { error: `unknown name '${trimmed}'; use @hourly, @daily, @weekly, @monthly, @yearly or "@every DURATION"` };
    return parseSchedule(five);
  }
  const parts = trimmed.split(/\s+/);
  if (parts.length !== 5 && parts.length !== 6) {
    return { error: `${parts.length} field${parts.length === 1 ? '' : 's'}; a schedule has 5 (minute hour day-of-month month day-of-week) or 6 (seconds first)` };
  }
  const fields = parts.length === 6 ? [SECOND, ...FIVE] : FIVE;
  const values: Array<Set<number>> = [];
  for (let i = 0; i < parts.length; i++) {
    const checked = checkField(parts[i], fields[i]);
    if ('error' in checked) return checked;
    values.push(checked.values);
    parts[i] = checked.text;
  }
  const [dom, month] = values.slice(-3, -1);
  const dow = values[values.length - 1];
  if (parts[parts.length - 1] === '*' || parts[parts.length - 1] === '?') {
    if (![...month].some((m) => [...dom].some((d) => d <= DAYS_IN_MONTH[m - 1]))) {
      return { error: `never runs: no month it names has day ${[...dom].sort((a, b) => a - b).join(',')}` };
    }
  } else if (dow.size === 0) {
    return { error: 'never runs: no day of the week' };
  }
  const sorted = (set: Set<number>): number[] => [...set].sort((a, b) => a - b);
  const [second, minute, hour] = parts.length === 6 ? values : [new Set([0]), ...values];
  const restricted = (text: string): boolean => text !== '*' && text !== '?';
  return {
    kind: 'cron',
    expression: parts.join(' '),
    seconds: parts.length === 6,
    fields: {
      second: sorted(second),
      minute: sorted(minute),
      hour: sorted(hour),
      dayOfMonth: sorted(dom),
      month: sorted(month),
      dayOfWeek: sorted(dow),
      eitherDay: restricted(parts[parts.length - 3]) && restricted(parts[parts.length - 1]),
    },
  };
}

/** February counts 29: a schedule for the 29th runs in leap years. */
const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The values a field allows, and its text as croner takes it (`5/15`, which croner refuses, written `5-59/15`). */
function checkField(text: string, field: Field): { values: Set<number>; text: string } | { error: string } {
  const values = new Set<number>();
  const items = text.split(',');
  for (const [index, item] of items.entries()) {
    const m = /^(\*|\?|[A-Za-z0-9]+(?:-[A-Za-z0-9]+)?)(?:\/(\d+))?$/.exec(item);
    if (!m) return { error: `${field.name} '${item}' is not a value, a range (1-5), a list (1,3) or a step (*/15)` };
    if (m[1] === '?' && field.name !== 'day-of-month' && field.name !== 'day-of-week') return { error: `'?' is only for day-of-month and day-of-week, not ${field.name}` };
    const step = m[2] === undefined ? 1 : Number(m[2]);
    if (step < 1 || step > field.max) return { error: `${field.name} step /${m[2]} out of range 1-${field.max}` };
    let from = field.min;
    let to = field.max;
    if (m[1] !== '*' && m[1] !== '?') {
      const [a, b] = m[1].split('-');
      const first = valueOf(a, field);
      if (typeof first === 'string') return { error: first };
      from = first;
      to = first;
      if (b !== undefined) {
        const last = valueOf(b, field);
        if (typeof last === 'string') return { error: last };
        if (last < first) return { error: `${field.name} range ${m[1]} runs backwards; write ${b}-${a} the other way round` };
        to = last;
      } else if (m[2] !== undefined) {
        to = field.max; // 5/15: from 5, every 15
        items[index] = `${a}-${field.max}/${m[2]}`;
      }
    }
    for (let v = from; v <= to; v += step) values.add(field.name === 'day-of-week' && v === 7 ? 0 : v);
  }
  return { values, text: items.join(',') };
}

function valueOf(text: string, field: Field): number | string {
  const named = field.names?.indexOf(text.toLowerCase()) ?? -1;
  if (named >= 0) return field.name === 'month' ? named + 1 : named;
  if (!/^\d+$/.test(text)) {
    return `${field.name} '${text}' is not a number${field.names ? ` or a name (${field.names[0]}-${field.names[field.names.length - 1]})` : ''}`;
  }
  const n = Number(text);
  if (n < field.min || n > field.max) return `${field.name} ${n} out of range ${field.min}-${field.max}`;
  return n;
}

/** Whether `name` is a time zone this Node knows (IANA names such as Europe/Paris, and UTC). */
export function isTimeZone(name: string): boolean {
  // UTC needs no check: asking Intl loads ICU's zone data, about 8 MB that an init in UTC never needs
  if (name === 'UTC') return true;
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}
