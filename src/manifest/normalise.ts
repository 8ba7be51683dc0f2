// Turns one schema-valid service into the Service the supervisor runs:
// a single argv whatever the user wrote, and string users.
import type { Issue, Path } from '../schema-language/validate.js';
import { parseDuration } from './duration.js';
import type { RawManifest, RawService } from './schema.js';
import { shellSplit } from './shell-split.js';
import { parseSignal } from '../unix/signals.js';
import { isTimeZone, parseSchedule, SCHEDULE_HINT } from './schedule.js';
import { resolveLimits, type Limits, type ResourcesSpec } from './limits.js';
import type { EnvironmentFile, Job, Liveness, Logging, Probe, Readiness, RenderedFile, Service, Watch } from './types.js';

const DEFAULT_READINESS_INTERVAL_MS = 1000;
const DEFAULT_LIVENESS_INTERVAL_MS = 10_000;
const DEFAULT_PROBE_TIMEOUT_MS = 1000;
const DEFAULT_RESTART_WINDOW_MS = 60_000;
const PROBE_KINDS = ['exec', 'tcp', 'http'] as const;

/** What the top level gives every service: its logging, and its `resources:` as checked limits. */
export interface Defaults {
  logging: Logging;
  limits: Limits;
}

/** `after` is the checked list from checkReferences, not the one in the file. */
export function toService(name: string, raw: RawService, after: string[], defaults: Defaults, path: Path, issues: Issue[]): Service {
  const execStart = raw.execStart === undefined ? undefined : toArgv(raw.execStart, [...path, 'execStart'], issues);
  if (raw.script !== undefined && raw.execStart !== undefined) {
    issues.push({ path: [...path, 'execStart'], message: "both 'script' and 'execStart' are set; keep exactly one" });
  } else if (raw.script === undefined && raw.execStart === undefined && raw.enable) {
    issues.push({ path, message: "missing 'script' or 'execStart': an enabled service needs a command to run" });
  }
  const argv = raw.script !== undefined ? ['/bin/sh', '-e', '-c', raw.script] : execStart ?? [];
  return {
    name,
    type: raw.type,
    argv,
    ...(raw.script === undefined ? {} : { script: raw.script }),
    ...(execStart === undefined ? {} : { execStart }),
    restartOnFailure: raw.restartOnFailure,
    environment: raw.environment,
    ...(raw.workingDirectory === undefined ? {} : { workingDirectory: raw.workingDirectory }),
    ...(raw.user === undefined ? {} : { user: String(raw.user) }),
    ...(raw.execLogger === undefined ? {} : { execLogger: raw.execLogger }),
    after,
    enable: raw.enable,
    tty: raw.tty,
    ...policies(raw, path, issues),
    logging: { ...defaults.logging, ...raw.logging },
    limits: { ...defaults.limits, ...checkLimits(raw.resources, [...path, 'resources'], issues) },
    environmentFiles: environmentFilesOf(raw.environmentFiles),
    environmentFromFiles: raw.environmentFromFiles ?? {},
    ...(raw.watch ? watchOf(raw.watch, [...path, 'watch'], issues) : {}),
    ...(raw.type === 'scheduled' ? jobOf(raw, path, issues) : {}),
  };
}

/** A `resources:` block's amounts in bytes, cores and a count; each field that is wrong is an issue at its path. */
export function checkLimits(spec: ResourcesSpec | undefined, path: Path, issues: Issue[]): Limits {
  const resolved = resolveLimits(spec, undefined);
  if ('limits' in resolved) return resolved.limits;
  for (const p of resolved.problems) issues.push({ path: [...path, p.field], message: p.message });
  return {};
}

/** '-/path': may be missing. */
export function environmentFilesOf(paths: string[] | undefined): EnvironmentFile[] {
  return (paths ?? []).map((p) => (p.startsWith('-') ? { path: p.slice(1), optional: true } : { path: p, optional: false }));
}

function watchOf(raw: NonNullable<RawService['watch']>, path: Path, issues: Issue[]): { watch?: Watch } {
  if ((raw.signal === undefined) === (raw.action === undefined)) {
    issues.push({ path, message: "give exactly one of 'signal' (sent on a change) and 'action: restart'" });
    return {};
  }
  if (raw.action === 'restart') return { watch: { paths: raw.paths, action: 'restart' } };
  const signal = parseSignal(raw.signal!);
  if (signal === undefined) {
    issues.push({ path: [...path, 'signal'], message: `unknown signal '${raw.signal}'` });
    return {};
  }
  return { watch: { paths: raw.paths, action: { signal } } };
}

/** The top level's files, each with exactly one of template and source, its mode a number. */
export function filesOf(raw: Record<string, NonNullable<RawManifest['files']>[string]> | undefined, issues: Issue[]): Record<string, RenderedFile> {
  const out: Record<string, RenderedFile> = {};
  for (const [file, spec] of Object.entries(raw ?? {})) {
    if ((spec.template === undefined) === (spec.source === undefined)) {
      issues.push({ path: ['files', file], message: "give exactly one of 'template' (the text) and 'source' (a template file)" });
      continue;
    }
    out[file] = {
      template: spec.template !== undefined ? { text: spec.template } : { source: spec.source! },
      mode: parseInt(spec.mode ?? '0600', 8),
      ...(spec.owner === undefined ? {} : { owner: String(spec.owner) }),
      ...(spec.group === undefined ? {} : { group: String(spec.group) }),
    };
  }
  return out;
}

const JOB_FIELDS = ['schedule', 'timezone', 'concurrency', 'timeout', 'startingDeadline', 'failureThreshold'] as const;

/** A scheduled job's fields, checked; on any other type they are a mistake. */
function jobOf(raw: RawService, path: Path, issues: Issue[]): { job?: Job } {
  if (raw.schedule === undefined) {
    if (raw.enable) issues.push({ path, message: "missing 'schedule': a scheduled job needs one (for example \"0 2 * * *\", @hourly or \"@every 10m\")" });
    return {};
  }
  if (raw.timezone !== undefined && !isTimeZone(raw.timezone)) {
    issues.push({ path: [...path, 'timezone'], message: `unknown time zone '${raw.timezone}'; use an IANA name such as UTC, Europe/Paris or America/New_York` });
  }
  const schedule = parseSchedule(raw.schedule);
  if ('error' in schedule) {
    issues.push({ path: [...path, 'schedule'], message: `${schedule.error}; a schedule is ${SCHEDULE_HINT}` });
    return {};
  }
  const ms = (v: number | string | undefined): number | undefined => (v === undefined ? undefined : parseDuration(v));
  return {
    job: {
      schedule,
      scheduleText: raw.schedule,
      ...(raw.timezone === undefined ? {} : { timezone: raw.timezone }),
      concurrency: raw.concurrency ?? 'forbid',
      ...(raw.timeout === undefined ? {} : { timeoutMs: ms(raw.timeout) }),
      ...(raw.startingDeadline === undefined ? {} : { startingDeadlineMs: ms(raw.startingDeadline) }),
      ...(raw.failureThreshold === undefined ? {} : { failureThreshold: raw.failureThreshold }),
    },
  };
}

type Policies = Pick<Service, 'readiness' | 'liveness' | 'startTimeoutMs' | 'watchdogMs' | 'restart' | 'successExitCodes' | 'stopSignal' | 'stopTimeoutMs' | 'maxRestarts' | 'restartWindowMs' | 'essential'>;

/** Readiness, liveness and the per-service policies, with their defaults and the rules the schema alone cannot say. */
function policies(raw: RawService, path: Path, issues: Issue[]): Policies {
  const ms = (field: 'startTimeout' | 'stopTimeout' | 'restartWindow' | 'watchdog'): number | undefined => (raw[field] === undefined ? undefined : parseDuration(raw[field]!));
  if (raw.type !== 'long-run') {
    const why = raw.type === 'scheduled' ? 'a job is not restarted: its schedule runs it again' : `a ${raw.type} is done when it exits 0`;
    for (const field of ['readiness', 'liveness', 'startTimeout', 'restart', 'maxRestarts'] as const) {
      if (raw[field] !== undefined) issues.push({ path: [...path, field], message: `applies to long-runs only: ${why}` });
    }
    if (raw.type === 'scheduled' && raw.restartOnFailure) issues.push({ path: [...path, 'restartOnFailure'], message: `applies to long-runs only: ${why}` });
  }
  if (raw.type !== 'scheduled') {
    for (const field of JOB_FIELDS) {
      if (raw[field] !== undefined) issues.push({ path: [...path, field], message: `applies to scheduled jobs only (type: scheduled); this service is a ${raw.type}` });
    }
  }
  if (raw.restart !== undefined && raw.restartOnFailure && raw.restart !== 'on-failure') {
    issues.push({ path: [...path, 'restart'], message: `'restart: ${raw.restart}' contradicts 'restartOnFailure: true' (which means on-failure); keep one` });
  }
  const stopSignal = raw.stopSignal === undefined ? 'SIGTERM' : parseSignal(raw.stopSignal);
  if (stopSignal === undefined) issues.push({ path: [...path, 'stopSignal'], message: `unknown signal '${raw.stopSignal}'` });
  const readiness = raw.readiness && toReadiness(raw.readiness, [...path, 'readiness'], issues);
  if (raw.startTimeout !== undefined && !raw.readiness) {
    issues.push({ path: [...path, 'startTimeout'], message: "needs 'readiness': without it a service is ready as soon as it starts" });
  }
  const watchdogMs = ms('watchdog');
  // 0 is no watchdog, as the docs say: nothing to need
  if (watchdogMs && raw.readiness?.notify !== true) {
    issues.push({ path: [...path, 'watchdog'], message: "needs 'readiness: { notify: true }': the service says it is alive with sd_notify's WATCHDOG=1" });
  }
  return {
    ...(readiness ? { readiness } : {}),
    ...(watchdogMs ? { watchdogMs } : {}),
    ...(raw.liveness ? { liveness: toLiveness(raw.liveness, [...path, 'liveness'], issues) } : {}),
    ...(raw.startTimeout === undefined ? {} : { startTimeoutMs: ms('startTimeout') }),
    restart: raw.restart ?? (raw.restartOnFailure ? 'on-failure' : 'no'),
    successExitCodes: raw.successExitCodes,
    stopSignal: stopSignal ?? 'SIGTERM',
    ...(raw.stopTimeout === undefined ? {} : { stopTimeoutMs: ms('stopTimeout') }),
    ...(raw.maxRestarts === undefined ? {} : { maxRestarts: raw.maxRestarts }),
    restartWindowMs: ms('restartWindow') ?? DEFAULT_RESTART_WINDOW_MS,
    essential: raw.essential ?? raw.type !== 'scheduled',
  };
}

type RawProbe = Pick<NonNullable<RawService['liveness']>, 'exec' | 'tcp' | 'http'>;

/** The one kind of check a block names, or undefined (with an issue) when it names none or several. */
function oneKind<K extends string>(raw: Partial<Record<K, unknown>>, kinds: readonly K[], path: Path, issues: Issue[]): K | undefined {
  const given = kinds.filter((k) => raw[k] !== undefined);
  if (given.length === 1) return given[0];
  issues.push({ path, message: given.length ? `give exactly one of ${kinds.join(', ')}, not ${given.join(' and ')}` : `give one of ${kinds.join(', ')}` });
  return undefined;
}

function toProbe(raw: RawProbe, kind: (typeof PROBE_KINDS)[number], path: Path, issues: Issue[]): Probe {
  if (kind === 'exec') return { kind, argv: toArgv(raw.exec!, [...path, 'exec'], issues) };
  if (kind === 'tcp') return { kind, host: raw.tcp!.host ?? '127.0.0.1', port: raw.tcp!.port };
  return { kind, host: raw.http!.host ?? '127.0.0.1', port: raw.http!.port, path: raw.http!.path };
}

const timing = (raw: { interval?: number | string; timeout?: number | string }, defaultIntervalMs: number) => ({
  intervalMs: raw.interval === undefined ? defaultIntervalMs : parseDuration(raw.interval)!,
  timeoutMs: raw.timeout === undefined ? DEFAULT_PROBE_TIMEOUT_MS : parseDuration(raw.timeout)!,
});

function toReadiness(raw: NonNullable<RawService['readiness']>, path: Path, issues: Issue[]): Readiness | undefined {
  // notify: false is as if left out
  const kind = oneKind({ ...raw, notify: raw.notify || undefined }, ['notificationFd', 'notify', ...PROBE_KINDS], path, issues);
  if (kind === undefined) return undefined;
  if (kind !== 'notificationFd' && kind !== 'notify') return { kind: 'probe', probe: toProbe(raw, kind, path, issues), ...timing(raw, DEFAULT_READINESS_INTERVAL_MS) };
  for (const field of ['interval', 'timeout'] as const) {
    if (raw[field] !== undefined) issues.push({ path: [...path, field], message: `applies to probes, not to ${kind}` });
  }
  return kind === 'notify' ? { kind: 'notify' } : { kind: 'notification-fd', fd: raw.notificationFd! };
}

function toLiveness(raw: NonNullable<RawService['liveness']>, path: Path, issues: Issue[]): Liveness | undefined {
  const kind = oneKind(raw, PROBE_KINDS, path, issues);
  if (kind === undefined) return undefined;
  return { probe: toProbe(raw, kind, path, issues), ...timing(raw, DEFAULT_LIVENESS_INTERVAL_MS), failureThreshold: raw.failureThreshold };
}
function toArgv(execStart: string | string[], path: Path, issues: Issue[]): string[] {
  if (Array.isArray(execStart)) {
    if (execStart[0] === '') issues.push({ path: [...path, 0], message: 'the program to run (the first item) is empty' });
    return execStart;
  }
  const split = shellSplit(execStart);
  if ('error' in split) {
    issues.push({ path, message: `cannot split into words: ${split.error}` });
    return [];
  }
  if (split.argv.length === 0) issues.push({ path, message: 'has no words; name the program to run' });
  else if (split.argv[0] === '') issues.push({ path, message: 'the program to run (the first word) is empty' });
  return split.argv;
}
