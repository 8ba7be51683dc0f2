// The normalised manifest the supervisor consumes: every default applied,
// every command turned into argv, every reference checked.
import type { Limits } from './limits.js';
import type { Schedule } from './schedule.js';
import type { LOG_FORMATS, RawService } from './schema.js';

export type ServiceType = RawService['type'];
export type RestartPolicy = Service['restart'];

/** A service's logging with the top level's applied where it says nothing. */
export interface Logging {
  format: (typeof LOG_FORMATS)[number];
  timestamps: boolean;
}

export interface Service {
  name: string;
  type: ServiceType;
  /** What to exec: `execStart` split into words, or ['/bin/sh', '-e', '-c', script]. Empty only for a disabled service with no command. */
  argv: string[];
  script?: string;
  execStart?: string[];
  restartOnFailure: boolean;
  environment: Record<string, string>;
  workingDirectory?: string;
  /** A name, a uid, or user:group, always as a string. */
  user?: string;
  execLogger?: string;
  /** Enabled services this one starts after, deduplicated; disabled names are dropped. */
  after: string[];
  enable: boolean;
  tty: boolean;
  /** how the init knows it is ready; undefined: ready once started */
  readiness?: Readiness;
  liveness?: Liveness;
  startTimeoutMs?: number;
  /** systemd's watchdog: WATCHDOG=1 at least this often once ready (notify readiness only); undefined: none */
  watchdogMs?: number;
  /** `restartOnFailure: true` is folded in as `on-failure` */
  restart: 'no' | 'on-failure' | 'always';
  successExitCodes: number[];
  stopSignal: NodeJS.Signals;
  /** undefined: the init's grace */
  stopTimeoutMs?: number;
  maxRestarts?: number;
  restartWindowMs: number;
  essential: boolean;
  logging: Logging;
  /** `resources:` over the top-level default, in bytes, cores and a count; only the fields set */
  limits: Limits;
  /** its dotenv files, in order, read before anything starts (the top level's are in the init's environment) */
  environmentFiles: EnvironmentFile[];
  /** secret variables: name → the file whose content is the value */
  environmentFromFiles: Record<string, string>;
  /** paths whose change signals or restarts it */
  watch?: Watch;
  /** set for `type: scheduled` */
  job?: Job;
}

/** A dotenv file; `optional`: its path started with '-', so it may be missing. */
export interface EnvironmentFile {
  path: string;
  optional: boolean;
}

export interface Watch {
  paths: string[];
  /** what a change does: this signal to its main process, or (`restart`) a restart */
  action: { signal: NodeJS.Signals } | 'restart';
}

/** A file the init renders before anything starts. */
export interface RenderedFile {
  /** the text with `${…}` in it, or the template file it is read from */
  template: { text: string } | { source: string };
  mode: number;
  owner?: string;
  group?: string;
}

/** What makes a service a scheduled job. */
export interface Job {
  schedule: Schedule;
  /** the text as written, for status and the log */
  scheduleText: string;
  /** IANA name; undefined: the init's TZ, else UTC (decided by the init, which knows its environment) */
  timezone?: string;
  concurrency: 'forbid' | 'allow' | 'replace';
  timeoutMs?: number;
  startingDeadlineMs?: number;
  failureThreshold?: number;
}

/** One check a probe makes; exactly one kind. */
export type Probe =
  | { kind: 'exec'; argv: string[] }
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'http'; host: string; port: number; path: string };

export interface ProbeTiming {
  intervalMs: number;
  timeoutMs: number;
}

export type Readiness = { kind: 'notification-fd'; fd: number } | { kind: 'notify' } | ({ kind: 'probe'; probe: Probe } & ProbeTiming);

export interface Liveness extends ProbeTiming {
  probe: Probe;
  failureThreshold: number;
}

export interface Manifest {
  version: 1;
  /** the HTTP endpoint for health and metrics, when set */
  http?: { listen: string };
  services: Record<string, Service>;
  /** the top-level logging, which the init's own lines follow */
  logging: Logging;
  /** the top-level `resources:`, every service's default (already in each service's `limits`) */
  limits: Limits;
  /** dotenv files every service gets */
  environmentFiles: EnvironmentFile[];
  /** files the init writes before anything starts, by path */
  files: Record<string, RenderedFile>;
}

/** One thing wrong with a file, located for an editor: `FILE:LINE:COL: PATH: MESSAGE`. */
export interface Problem {
  file: string;
  line: number;
  col: number;
  /** Like services.web.after[0]; empty for the file as a whole (unreadable, syntax errors). */
  path: string;
  message: string;
}

/** Enabled services by stage, each stage in an order that honours `after` (ties keep file order). */
export interface Plan {
  pre: Service[];
  longRuns: Service[];
  post: Service[];
  /** scheduled jobs, armed when the long-runs start */
  jobs: Service[];
}
