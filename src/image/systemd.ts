// Translates `systemd.services` (NixOS unit syntax) into Berth services, and
// `systemd.timers` (and `startAt`) into the schedule of the unit they start.
// The supported subset maps onto the manifest; everything else is reported
// as a warning naming the directive and the unit — never silently dropped.
import type { Path } from '../schema-language/validate.js';
import { formatPath } from '../manifest/locate.js';
import { shellSplit } from '../manifest/shell-split.js';
import type { DefNode, Loc } from './definition.js';
import type { Locations, MergeProblem } from './merge.js';
import { toDefNode } from './merge.js';
import type { SystemdService, SystemdTimer } from './options.js';
import { shellQuote } from './quote.js';
import { CALENDAR_FORMS, calendarToCron, timeSpanToDuration } from './calendar.js';

const TRANSLATED = new Set(['Type', 'ExecStart', 'ExecStartPre', 'WorkingDirectory', 'User', 'Group', 'Restart', 'MemoryMax', 'CPUQuota', 'TasksMax', 'WatchdogSec']);
const UNIT_LEVEL_UNSUPPORTED = [
  'requires', 'wants', 'before', 'postStart', 'preStop', 'postStop', 'reload', 'unitConfig', 'restartIfChanged',
  'restartTriggers', 'requiredBy', 'partOf', 'bindsTo', 'conflicts', 'onFailure', 'scriptArgs',
] as const;
const START_TARGETS = new Set(['multi-user.target', 'default.target']);
const TIMER_TARGETS = new Set(['timers.target', ...START_TARGETS]);
const TIMER_LEVEL_UNSUPPORTED = ['requires', 'wants', 'after', 'before', 'unitConfig'] as const;
/** The [Timer] directives that can be a job's schedule, the first one set winning. */
const TRIGGERS = ['OnCalendar', 'OnUnitActiveSec', 'OnUnitInactiveSec'] as const;
/** Timers that fire once after a start; Berth jobs repeat. */
const ONE_SHOT_TRIGGERS = new Set(['OnBootSec', 'OnStartupSec', 'OnActiveSec']);
/** What is lost with an ignored [Timer] directive, where it is worth saying. */
const TIMER_IGNORED_WHY: Record<string, string> = {
  Persistent: 'runs missed while the container was stopped are not made up',
  RandomizedDelaySec: 'runs start on time',
  FixedRandomDelay: 'runs start on time',
  AccuracySec: 'runs start on time',
  WakeSystem: 'a container cannot wake the host',
};

export interface Translation {
  /** `{ services: { NAME: {...} } }` as a definition, each field located at the directive it came from. */
  definition?: DefNode;
  warnings: MergeProblem[];
  problems: MergeProblem[];
}

interface ExecLine { argv: string[]; argv0?: string; ignoreFailure: boolean }

type Note = (list: MergeProblem[], path: Path, message: string) => void;
interface Reporter { note: Note; locOf: (path: Path) => Loc; warnings: MergeProblem[]; problems: MergeProblem[] }

/** What a timer (or `startAt`) makes of the unit it starts. */
interface Schedule {
  schedule: string;
  timezone?: string;
  loc: Loc;
  /** where a disabled timer says so */
  disabledAt?: Loc;
  /** `timer NAME` or `startAt`, for messages */
  by: string;
}

/**
 * `systemd` holds the merged systemd services and timers; `services` the
 * merged Berth services (a oneshot after a long-run of either kind runs post).
 */
export function translateSystemd(
  systemd: { services: Record<string, SystemdService>; timers: Record<string, SystemdTimer> },
  services: Record<string, { type?: string }>,
  locations: Locations,
): Translation {
  const warnings: MergeProblem[] = [];
  const problems: MergeProblem[] = [];
  const units = systemd.services;
  const names = Object.keys(units);
  if (!names.length && !Object.keys(systemd.timers).length) return { warnings, problems };
  const locOf = (path: Path): Loc => locations.locate({ path }) ?? { file: '?', line: 1, col: 1 };
  const note = (list: MergeProblem[], path: Path, message: string) => list.push({ loc: locOf(path), path: formatPath(path), message });

  // Pass 1: each unit's kind, so oneshots can be staged by what they run after.
  const kinds = new Map<string, 'long-run' | 'oneshot'>();
  /** Type=notify: ready at its READY=1 (readiness: { notify: true }) */
  const notifies = new Set<string>();
  for (const name of names) {
    const base: Path = ['systemd', 'services', name];
    const type = units[name].serviceConfig?.Type ?? 'simple';
    if (type === 'oneshot') kinds.set(name, 'oneshot');
    else if (type === 'simple' || type === 'exec') kinds.set(name, 'long-run');
    else if (type === 'notify') {
      kinds.set(name, 'long-run');
      notifies.add(name);
    } else if (type === 'idle' || type === 'forking' || type === 'dbus') {
      kinds.set(name, 'long-run');
      const why = type === 'forking' ? 'the main process must stay in the foreground under Berth (no daemonizing)'
        : type === 'dbus' ? 'there is no D-Bus readiness in Berth' : 'it starts at once, not once the other units have';
      note(warnings, [...base, 'serviceConfig', 'Type'], `unit ${name}: Type=${String(type)} is run as a simple long-run; ${why}`);
    } else {
      kinds.set(name, 'long-run');
      note(problems, [...base, 'serviceConfig', 'Type'], `unit ${name}: unknown Type=${String(type)}; use simple, exec or oneshot`);
    }
  }
  const schedules = collectSchedules(units, systemd.timers, { note, locOf, warnings, problems });
  const afterOf = new Map(names.map((name) => [name, cleanAfter(name, units[name].after ?? [], note, warnings)]));
  const post = new Set<string>();
  const isLongRun = (n: string) => (kinds.get(n) === 'long-run' && !schedules.has(n)) ||
    (!kinds.has(n) && (services[n]?.type ?? 'long-run') === 'long-run' && n in services);
  const isPost = (n: string) => post.has(n) || (!kinds.has(n) && services[n]?.type === 'oneshot-post');
  for (let changed = true; changed;) {
    changed = false;
    for (const name of names) {
      if (kinds.get(name) !== 'oneshot' || schedules.has(name) || post.has(name)) continue;
      if (afterOf.get(name)!.some(({ name: dep }) => isLongRun(dep) || isPost(dep))) {
        post.add(name);
        changed = true;
      }
    }
  }

  const entries: { key: string; keyLoc: Loc; value: DefNode }[] = [];
  for (const name of names) {
    const unit = units[name];
    const base: Path = ['systemd', 'services', name];
    const at = (...rest: Path) => locOf([...base, ...rest]);
    const sc = unit.serviceConfig ?? {};
    const kind = kinds.get(name)!;
    const scheduled = schedules.get(name);
    const fields: { key: string; value: DefNode }[] = [];
    const field = (key: string, value: unknown, loc: Loc) => fields.push({ key, value: toDefNode(value, { ...loc, via: `systemd unit ${name}` }) });

    for (const key of Object.keys(sc)) {
      if (!TRANSLATED.has(key)) note(warnings, [...base, 'serviceConfig', key], `unit ${name}: ${key}= is not supported by Berth; ignored`);
    }
    for (const key of UNIT_LEVEL_UNSUPPORTED) {
      if (unit[key] !== undefined) note(warnings, [...base, key], `unit ${name}: '${key}' is not supported by Berth; ignored`);
    }
    (unit.wantedBy ?? []).forEach((target, i) => {
      if (!START_TARGETS.has(target)) note(warnings, [...base, 'wantedBy', i], `unit ${name}: wantedBy ${target} is not supported (every enabled unit starts); ignored`);
      else if (scheduled) note(warnings, [...base, 'wantedBy', i], `unit ${name}: wantedBy ${target} is ignored: the unit runs on the schedule of its ${scheduled.by} only, not also at start`);
    });

    if (scheduled) {
      field('type', 'scheduled', scheduled.loc);
      field('schedule', scheduled.schedule, scheduled.loc);
      if (scheduled.timezone !== undefined) field('timezone', scheduled.timezone, scheduled.loc);
    } else {
      field('type', kind === 'long-run' ? 'long-run' : post.has(name) ? 'oneshot-post' : 'oneshot-pre', at('serviceConfig', 'Type'));
    }
    if (notifies.has(name)) {
      if (scheduled) note(warnings, [...base, 'serviceConfig', 'Type'], `unit ${name}: Type=notify is ignored for a scheduled job: a job has no readiness, its READY=1 is not waited for`);
      else field('readiness', { notify: true }, at('serviceConfig', 'Type'));
    }
    if (sc.WatchdogSec !== undefined) {
      const watchdogPath = [...base, 'serviceConfig', 'WatchdogSec'];
      const span = String(firstOf(sc.WatchdogSec)).trim();
      // 0 and infinity turn it off, as in systemd
      if (span === '0' || span === 'infinity') {
        // nothing to watch
      } else if (!notifies.has(name) || scheduled) {
        note(warnings, watchdogPath, `unit ${name}: WatchdogSec= needs Type=notify under Berth (the service sends WATCHDOG=1 as sd_notify); ignored`);
      } else {
        const duration = spanOf(`unit ${name}`, 'WatchdogSec=', sc.WatchdogSec, watchdogPath, { note, locOf, warnings, problems });
        if (duration) field('watchdog', duration, at('serviceConfig', 'WatchdogSec'));
      }
    }
    if (!unit.enable) field('enable', false, at('enable'));
    else if (scheduled?.disabledAt) field('enable', false, scheduled.disabledAt);

    // The commands: ExecStartPre, preStart, then ExecStart or script.
    const execStart = execLines(name, sc.ExecStart, [...base, 'serviceConfig', 'ExecStart'], note, warnings, problems);
    const pre = execLines(name, sc.ExecStartPre, [...base, 'serviceConfig', 'ExecStartPre'], note, warnings, problems);
    if (unit.script !== undefined && execStart.length) {
      note(problems, [...base, 'serviceConfig', 'ExecStart'], `unit ${name}: both 'script' and ExecStart are set; keep one`);
    } else if (execStart.length > 1 && kind !== 'oneshot') {
      note(problems, [...base, 'serviceConfig', 'ExecStart'], `unit ${name}: several ExecStart lines are only allowed with Type=oneshot`);
    } else if (unit.script === undefined && !execStart.length && unit.enable) {
      note(problems, base, `unit ${name}: no command; set 'script' or serviceConfig.ExecStart`);
    }
    const path = unit.path ?? [];
    const needsScript = unit.script !== undefined || unit.preStart !== undefined || pre.length > 0 || path.length > 0 ||
      execStart.length > 1 || execStart.some((l) => l.argv0 !== undefined || l.ignoreFailure);
    const commandLoc = unit.script !== undefined ? at('script') : at('serviceConfig', 'ExecStart');
    if (needsScript && (unit.script !== undefined || execStart.length)) {
      const usesArgv0 = [...pre, ...execStart].some((l) => l.argv0 !== undefined);
      const lines = [`# systemd unit ${name}, translated by berth build`];
      if (path.length) lines.push(`PATH=${path.map(shellQuote).join(':')}:"$PATH"`, 'export PATH');
      for (const line of pre) lines.push(commandLine(line, false));
      if (unit.preStart !== undefined) lines.push(`/bin/sh -e -c ${shellQuote(unit.preStart)}`);
      if (unit.script !== undefined) lines.push(unit.script);
      execStart.forEach((line, i) => lines.push(commandLine(line, i === execStart.length - 1)));
      const text = `${lines.join('\n')}\n`;
      // dash (Debian's /bin/sh) has no `exec -a`: setting argv[0] needs bash.
      if (usesArgv0) field('execStart', ['/bin/bash', '-e', '-c', text], commandLoc);
      else field('script', text, commandLoc);
    } else if (execStart.length) {
      field('execStart', execStart[0].argv, commandLoc);
    }

    if (unit.environment && Object.keys(unit.environment).length) field('environment', unit.environment, at('environment'));
    const workingDirectory = sc.WorkingDirectory;
    if (workingDirectory !== undefined) {
      let dir = String(workingDirectory);
      if (dir.startsWith('-')) {
        dir = dir.slice(1);
        note(warnings, [...base, 'serviceConfig', 'WorkingDirectory'], `unit ${name}: the '-' prefix of WorkingDirectory= is not supported; a missing directory fails the service`);
      }
      if (dir === '~') note(problems, [...base, 'serviceConfig', 'WorkingDirectory'], `unit ${name}: WorkingDirectory=~ is not supported; give the directory`);
      else field('workingDirectory', dir, at('serviceConfig', 'WorkingDirectory'));
    }
    if (sc.User !== undefined || sc.Group !== undefined) {
      const user = `${sc.User ?? 'root'}${sc.Group !== undefined ? `:${String(sc.Group)}` : ''}`;
      field('user', user, at('serviceConfig', sc.User !== undefined ? 'User' : 'Group'));
    }
    if (sc.Restart !== undefined) {
      const restart = String(sc.Restart);
      const restartPath = [...base, 'serviceConfig', 'Restart'];
      if (scheduled) {
        if (restart !== 'no') note(warnings, restartPath, `unit ${name}: Restart=${restart} is ignored for a scheduled job: its schedule runs it again`);
      } else if (kind === 'oneshot') {
        if (restart !== 'no') note(warnings, restartPath, `unit ${name}: Restart=${restart} is ignored for a oneshot`);
      } else if (restart === 'no') {
        field('restartOnFailure', false, at('serviceConfig', 'Restart'));
      } else if (restart === 'on-failure') {
        field('restartOnFailure', true, at('serviceConfig', 'Restart'));
      } else if (restart === 'always') {
        field('restart', 'always', at('serviceConfig', 'Restart'));
      } else if (restart === 'on-abnormal' || restart === 'on-abort' || restart === 'on-watchdog') {
        field('restartOnFailure', true, at('serviceConfig', 'Restart'));
        note(warnings, restartPath, `unit ${name}: Restart=${restart} is translated as restartOnFailure: Berth restarts a service that fails in any way, not only ${restart.slice(3)}`);
      } else if (restart === 'on-success') {
        note(warnings, restartPath, `unit ${name}: Restart=on-success is not supported; the service is not restarted`);
      } else {
        note(problems, restartPath, `unit ${name}: unknown Restart=${restart}; use no, on-failure or always`);
      }
    }
    const resources = unitResources(name, sc, (key, message) => note(problems, [...base, 'serviceConfig', key], message));
    if (Object.keys(resources).length) field('resources', resources, at('serviceConfig'));
    const after = afterOf.get(name)!;
    if (after.length) {
      fields.push({ key: 'after', value: { kind: 'seq', loc: at('after'), items: after.map((a) => toDefNode(a.name, { ...a.loc, via: `systemd unit ${name}` })) } });
    }
    entries.push({
      key: name,
      keyLoc: at(),
      value: { kind: 'map', loc: { ...at(), via: `systemd unit ${name}` }, entries: fields.map((f) => ({ key: f.key, keyLoc: f.value.loc, value: f.value })) },
    });
  }
  const loc = locOf(['systemd', 'services']);
  const definition: DefNode = { kind: 'map', loc, entries: [{ key: 'services', keyLoc: loc, value: { kind: 'map', loc, entries } }] };
  return { definition, warnings, problems };

  function cleanAfter(name: string, after: string[], noteFn: typeof note, list: MergeProblem[]) {
    const out: { name: string; loc: Loc }[] = [];
    after.forEach((entry, i) => {
      const path = ['systemd', 'services', name, 'after', i];
      if (entry.endsWith('.service')) out.push({ name: entry.slice(0, -'.service'.length), loc: locOf(path) });
      else if (/\.(target|socket|mount|path|timer|slice|scope|device|swap|automount)$/.test(entry)) {
        noteFn(list, path, `unit ${name}: after ${entry} is ignored: Berth orders services only`);
      } else out.push({ name: entry, loc: locOf(path) });
    });
    return out;
  }
}

/** The schedule of each unit a timer or `startAt` starts; one per unit, since a job has one schedule. */
function collectSchedules(units: Record<string, SystemdService>, timers: Record<string, SystemdTimer>, r: Reporter): Map<string, Schedule> {
  const out = new Map<string, Schedule>();
  const add = (unit: string, schedule: Schedule | undefined, path: Path, who: string) => {
    if (!schedule) return;
    const earlier = out.get(unit);
    if (!earlier) out.set(unit, schedule);
    else r.note(r.warnings, path, `${who}: ignored: unit ${unit} already runs on the schedule of its ${earlier.by}, and a job has one schedule`);
  };
  for (const [name, unit] of Object.entries(units)) {
    if (unit.startAt === undefined) continue;
    const path = ['systemd', 'services', name, 'startAt'];
    add(name, calendarSchedule(`unit ${name}`, 'startAt', unit.startAt, path, 'startAt', r), path, `unit ${name}: startAt`);
  }
  for (const [name, timer] of Object.entries(timers)) {
    const unit = timerUnit(name, timer, units, r);
    if (unit === undefined) continue;
    const who = unit === name ? `timer ${name}` : `timer ${name} (unit ${unit})`;
    add(unit, timerSchedule(name, who, unit, timer, r), ['systemd', 'timers', name], who);
  }
  return out;
}

/** The unit a timer starts: `Unit=` (`x.service` is `x`), else the timer's own name; undefined after a problem. */
function timerUnit(name: string, timer: SystemdTimer, units: Record<string, SystemdService>, r: Reporter): string | undefined {
  const raw = timer.timerConfig?.Unit;
  const path: Path = raw === undefined ? ['systemd', 'timers', name] : ['systemd', 'timers', name, 'timerConfig', 'Unit'];
  if (raw !== undefined && (typeof raw !== 'string' || !/^[^.\s]+(\.service)?$/.test(raw))) {
    r.note(r.problems, path, `timer ${name}: Unit=${String(raw)} is not a service unit; name one such as backup.service`);
    return undefined;
  }
  const unit = raw === undefined ? name : raw.replace(/\.service$/, '');
  if (Object.hasOwn(units, unit)) return unit;
  r.note(r.problems, path, `timer ${name}: starts unit ${unit}, which is not in systemd.services; define systemd.services.${unit}${raw === undefined ? ' or set timerConfig.Unit' : ''}`);
  return undefined;
}

/** A timer's schedule from its first trigger; every other directive is warned about. Undefined when it schedules nothing. */
function timerSchedule(name: string, who: string, unit: string, timer: SystemdTimer, r: Reporter): Schedule | undefined {
  const base: Path = ['systemd', 'timers', name];
  const config = timer.timerConfig ?? {};
  (timer.wantedBy ?? []).forEach((target, i) => {
    if (!TIMER_TARGETS.has(target)) r.note(r.warnings, [...base, 'wantedBy', i], `${who}: wantedBy ${target} is not supported (every enabled timer runs); ignored`);
  });
  for (const key of TIMER_LEVEL_UNSUPPORTED) {
    if (timer[key] !== undefined) r.note(r.warnings, [...base, key], `${who}: '${key}' is not supported by Berth; ignored`);
  }
  const trigger = TRIGGERS.find((key) => config[key] !== undefined);
  const everyBased = trigger === 'OnUnitActiveSec' || trigger === 'OnUnitInactiveSec';
  for (const key of Object.keys(config)) {
    const path = [...base, 'timerConfig', key];
    if (key === 'Unit' || key === trigger || (key === 'OnBootSec' && everyBased)) continue;
    if ((TRIGGERS as readonly string[]).includes(key)) {
      r.note(r.warnings, path, `${who}: ${key}= is ignored: a job has one schedule, and ${trigger}= is it`);
    } else if (ONE_SHOT_TRIGGERS.has(key) && !trigger) {
      r.note(r.warnings, path, `${who}: ${key}= alone (one run, once after the start) is not supported: Berth jobs repeat; ` +
        `the timer is ignored and unit ${unit} is translated as a plain service. Add OnUnitActiveSec= to repeat it`);
    } else {
      const why = TIMER_IGNORED_WHY[key];
      r.note(r.warnings, path, `${who}: ${key}= is not supported by Berth; ignored${why ? `: ${why}` : ''}`);
    }
  }
  const disabledAt = timer.enable ? {} : { disabledAt: r.locOf([...base, 'enable']) };
  const by = `timer ${name}`;
  if (trigger === 'OnCalendar') {
    const schedule = calendarSchedule(who, 'OnCalendar', config.OnCalendar, [...base, 'timerConfig', 'OnCalendar'], by, r);
    return schedule && { ...schedule, ...disabledAt };
  }
  if (trigger) {
    const path: Path = [...base, 'timerConfig', trigger];
    const every = spanOf(who, trigger, config[trigger], path, r);
    if (every === undefined) return undefined;
    const bootRaw = firstOf(config.OnBootSec);
    const boot = typeof bootRaw === 'string' || typeof bootRaw === 'number' ? timeSpanToDuration(bootRaw) : undefined;
    // @every counts from the start: an OnBootSec= of another length moves the first run, which Berth cannot.
    if (boot !== undefined && boot !== every) {
      r.note(r.warnings, [...base, 'timerConfig', 'OnBootSec'], `${who}: OnBootSec=${String(bootRaw)} is not kept: the first run comes one ${trigger}= period (${every}) after the start`);
    }
    return { schedule: `@every ${every}`, loc: r.locOf(path), by, ...disabledAt };
  }
  if (!Object.keys(config).some((key) => ONE_SHOT_TRIGGERS.has(key))) {
    r.note(r.problems, [...base, 'timerConfig'], `${who}: nothing to schedule; set timerConfig.OnCalendar (such as "daily") or OnUnitActiveSec (such as "15min")`);
  }
  return undefined;
}

/** OnCalendar= or startAt: text or a list of them. A job has one schedule: the first, the others warned about. */
function calendarSchedule(who: string, directive: string, raw: unknown, path: Path, by: string, r: Reporter): Schedule | undefined {
  const list = Array.isArray(raw) ? raw : [raw];
  const itemPath = (i: number): Path => (Array.isArray(raw) ? [...path, i] : path);
  list.slice(1).forEach((value, i) => {
    r.note(r.warnings, itemPath(i + 1), `${who}: ${directive} '${String(value)}' is ignored: a job has one schedule, and '${String(list[0])}' is it`);
  });
  const text = list[0];
  if (typeof text !== 'string') {
    r.note(r.problems, itemPath(0), `${who}: ${directive} must be calendar text such as "daily" or "*-*-* 02:00", not ${JSON.stringify(text)}`);
    return undefined;
  }
  const cron = calendarToCron(text);
  if ('error' in cron) {
    r.note(r.problems, itemPath(0), `${who}: ${directive} '${text}' cannot be translated: ${cron.error}; supported: ${CALENDAR_FORMS}`);
    return undefined;
  }
  return { ...cron, loc: r.locOf(itemPath(0)), by };
}

/** A time span directive as a Berth duration, or undefined after a problem. */
function spanOf(who: string, directive: string, raw: unknown, path: Path, r: Reporter): string | undefined {
  if (Array.isArray(raw)) {
    raw.slice(1).forEach((value, i) => r.note(r.warnings, [...path, i + 1], `${who}: ${directive} '${String(value)}' is ignored: a job has one schedule`));
    path = [...path, 0];
  }
  const value = firstOf(raw);
  const duration = typeof value === 'string' || typeof value === 'number' ? timeSpanToDuration(value) : { error: `${JSON.stringify(value)} is not a time span` };
  if (typeof duration === 'string') return duration;
  r.note(r.problems, path, `${who}: ${directive}: ${duration.error}; use a systemd time span such as 30s, 15min, 1h or 2h 30min`);
  return undefined;
}

const firstOf = (raw: unknown): unknown => (Array.isArray(raw) ? raw[0] : raw);

/** Parses ExecStart/ExecStartPre: a string or a list of them, each with systemd's prefixes. */
function execLines(
  name: string, raw: unknown, path: Path,
  note: (list: MergeProblem[], path: Path, message: string) => void, warnings: MergeProblem[], problems: MergeProblem[],
): ExecLine[] {
  if (raw === undefined) return [];
  const lines = Array.isArray(raw) ? raw : [raw];
  const out: ExecLine[] = [];
  lines.forEach((line, i) => {
    const at = Array.isArray(raw) ? [...path, i] : path;
    if (typeof line !== 'string') {
      note(problems, at, `unit ${name}: expected a command line (a string), got ${JSON.stringify(line)}`);
      return;
    }
    let rest = line.trim();
    let argv0 = false;
    let ignoreFailure = false;
    for (;;) {
      const c = rest[0];
      if (c === '@') argv0 = true;
      else if (c === '-') ignoreFailure = true;
      else if (c === ':') { /* no variable expansion: Berth never expands */ }
      else if (c === '+' || c === '!') note(warnings, at, `unit ${name}: the '${c}' prefix (privileges) is not supported; ignored`);
      else break;
      rest = rest.slice(1);
    }
    if (/\$\{?[A-Za-z_]/.test(rest)) {
      note(warnings, at, `unit ${name}: variables in '${rest}' are not expanded by Berth; use 'script' for a shell`);
    }
    const split = shellSplit(rest);
    if ('error' in split) return note(problems, at, `unit ${name}: cannot split the command into words: ${split.error}`);
    if (split.argv.length < (argv0 ? 2 : 1)) {
      return note(problems, at, argv0 ? `unit ${name}: '@' needs the program and then argv[0]: @/bin/echo echo hello` : `unit ${name}: empty command`);
    }
    if (!split.argv[0].startsWith('/')) note(problems, at, `unit ${name}: the program must be an absolute path, as systemd requires: ${split.argv[0]}`);
    out.push(argv0
      ? { argv: [split.argv[0], ...split.argv.slice(2)], argv0: split.argv[1], ignoreFailure }
      : { argv: split.argv, ignoreFailure });
  });
  return out;
}

/** One command of a generated script; the last main command is exec'd so it gets the service's signals. */
function commandLine(line: ExecLine, last: boolean): string {
  const words = line.argv.map(shellQuote).join(' ');
  const command = line.argv0 !== undefined ? `exec -a ${shellQuote(line.argv0)} ${words}` : words;
  if (line.ignoreFailure) return line.argv0 !== undefined ? `(${command}) || true` : `${command} || true`;
  if (line.argv0 !== undefined) return last ? command : `(${command})`;
  return last ? `exec ${command}` : command;
}

/**
 * MemoryMax=, CPUQuota= and TasksMax= as `resources:`. systemd's sizes count
 * in 1024s (`256M` is 256Mi); `infinity` is no limit. A percentage of the
 * machine's memory or tasks depends on where the image runs: refused.
 */
function unitResources(name: string, sc: Record<string, unknown>, problem: (key: string, message: string) => void): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  const text = (key: string): string | undefined => (sc[key] === undefined || String(sc[key]).trim() === 'infinity' ? undefined : String(sc[key]).trim());
  const memory = text('MemoryMax');
  if (memory !== undefined) {
    const m = /^(\d+(?:\.\d+)?)([KMGT]?)$/.exec(memory);
    if (m) out.memory = m[2] ? `${m[1]}${m[2]}i` : Number(m[1]);
    else problem('MemoryMax', `unit ${name}: MemoryMax=${memory} is not supported; use bytes with K, M, G or T (1024-based) or infinity`);
  }
  const quota = text('CPUQuota');
  if (quota !== undefined) {
    const m = /^(\d+(?:\.\d+)?)%$/.exec(quota);
    if (m && Number(m[1]) > 0) out.cpu = Number(m[1]) / 100;
    else problem('CPUQuota', `unit ${name}: CPUQuota=${quota} is not supported; use a percentage of one core (50%, 200%)`);
  }
  const tasks = text('TasksMax');
  if (tasks !== undefined) {
    if (/^\d+$/.test(tasks)) out.pids = Number(tasks);
    else problem('TasksMax', `unit ${name}: TasksMax=${tasks} is not supported; use a number of tasks or infinity`);
  }
  return out;
}
