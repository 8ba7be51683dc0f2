// The manifest, version 1: the one declaration that validation, the JSON
// Schema (schema/manifest.schema.json) and docs/manifest.md all come from.
import { MAX_PIDS } from './quantity.js';
import { array, boolean, enumOf, integer, number, object, oneOf, record, string, type Infer } from '../schema-language/schema.js';
import { DURATION_HINT, DURATION_PATTERN } from './duration.js';
import { LISTEN_HINT, LISTEN_PATTERN } from './listen.js';

/**
 * Service names become file names in the state dir, so they stay plain. Not
 * digits only: JavaScript objects list integer-like keys first, so a service
 * named `10` would silently lose its place in file order (the start order).
 */
export const SERVICE_NAME = /^(?!\.\.?$)(?!\d+$)[A-Za-z0-9._-]+$/;
export const SERVICE_NAME_HINT = "a valid service name (letters, digits, '.', '_', '-'; not digits only)";

/** A number of milliseconds, or a whole number with a unit. */
const duration = (description: string, example: string) =>
  oneOf([integer({ minimum: 0 }), string({ pattern: DURATION_PATTERN, patternHint: DURATION_HINT })], { description, example });

const port = integer({ minimum: 1, maximum: 65535, required: true, description: 'TCP port, on 127.0.0.1 unless `host` says otherwise.' });
const host = string({ minLength: 1, description: 'Host to connect to; default 127.0.0.1 (the service is in the same network namespace).' });

/** The checks a readiness or liveness probe can make; exactly one per probe. */
const probeKinds = {
  exec: oneOf([array(string(), { minItems: 1 }), string({ minLength: 1 })], {
    description: 'A command (argv list, or one string split shell-style) that exits 0 when the check passes. It runs with the service\'s environment and user.',
    example: ['pg_isready', '-h', '127.0.0.1'],
  }),
  tcp: object({ port, host }, { description: 'Passes when a TCP connection to the port succeeds.' }),
  http: object({
    port,
    host,
    path: string({ pattern: /^\//, patternHint: 'a path starting with /', default: '/', description: 'Path to GET.' }),
  }, { description: 'Passes when `GET http://HOST:PORT/PATH` answers with a status from 200 to 399.' }),
};

export const readinessSchema = object({
  notificationFd: integer({
    minimum: 3,
    maximum: 1023,
    description: "s6's protocol: the service gets a pipe on this descriptor and writes a newline to it once it is ready (then may close it). 0, 1 and 2 are stdin, stdout and stderr, so 3 or above.",
    example: 3,
  }),
  notify: boolean({
    description:
      "systemd's protocol (sd_notify): the service gets `NOTIFY_SOCKET` in its environment and sends `READY=1` to it once it is ready, from its main process or one of its own (`systemd-notify --ready`). " +
      '`STATUS=` shows in `berth status`, `EXTEND_TIMEOUT_USEC=` extends `startTimeout`, `MAINPID=` names another of its processes as the main one. `true`; `false` is as if left out.',
    example: true,
  }),
  ...probeKinds,
  interval: duration('Time between two tries of a probe (not notificationFd or notify). Default 1s.', '1s'),
  timeout: duration('How long one try may take before it counts as failed. Default 1s.', '1s'),
}, { title: 'Readiness', description: 'How the init knows the service is ready: exactly one of `notificationFd`, `notify`, `exec`, `tcp`, `http`. Until then it is `starting`, and what waits for it (`after`) waits.' });

export const livenessSchema = object({
  ...probeKinds,
  interval: duration('Time between two checks. Default 10s.', '10s'),
  timeout: duration('How long one check may take before it counts as failed. Default 1s.', '1s'),
  failureThreshold: integer({ minimum: 1, default: 3, description: 'Failed checks in a row that make the init restart the service.' }),
}, { title: 'Liveness', description: 'A check the init runs on a ready service: exactly one of `exec`, `tcp`, `http`. `failureThreshold` failures in a row restart the service.' });

export const resourcesSchema = object({
  memory: oneOf([integer({ minimum: 1 }), string({ minLength: 1 })], {
    description:
      'Most memory the service may use, all its processes together: bytes, or a Kubernetes quantity (`256Mi`, `1Gi`, `500M`). ' +
      "Past it the kernel's OOM killer ends the service (all of it, nothing else) and the exit says OOM; where the init cannot make cgroups, the init stops it instead.",
    example: '256Mi',
  }),
  cpu: oneOf([number({ minimum: 0 }), string({ minLength: 1 })], {
    description: 'Most CPU time the service may use, in cores (`0.5`: half of one core) or millicores (`"500m"`); enforced by cgroups only.',
    example: 0.5,
  }),
  pids: integer({
    minimum: 1,
    maximum: MAX_PIDS,
    description: 'Most processes and threads the service may have at once; a fork past it fails (with cgroups) or the service is stopped (without).',
    example: 200,
  }),
}, {
  title: 'Resources',
  description: "Limits on a service's memory, CPU and processes, enforced by the kernel (cgroup v2 or v1) where the init can make cgroups, else by a watcher (docs/resources.md). At the top level: every service's default, field by field.",
});

export const environmentFiles = (scope: string) =>
  array(string({ pattern: /^-?\//, patternHint: "an absolute path, or '-' then one (may be missing)" }), {
    description:
      `dotenv files whose variables ${scope} gets, read before anything starts: \`KEY=value\` lines, single or double quotes, \`#\` comments; ` +
      'nothing is expanded or executed. A missing file is an error, unless its path starts with `-` (as systemd\'s `EnvironmentFile=-`).',
    example: ['/etc/app/common.env', '-/run/secrets/optional.env'],
  });

/** A variable name a shell or `env` can set. */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export const fileSchema = object({
  template: string({ description: 'The text to write, with `${VAR}`, `${VAR:-default}` and `${VAR:?message}` replaced from the init\'s environment (secrets included); `$$` is a `$`. Nothing else is special.' }),
  source: string({ pattern: /^\//, patternHint: 'an absolute path', description: 'A template file in the image, instead of `template`.' }),
  mode: string({ pattern: /^0?[0-7]{3}$/, patternHint: 'an octal mode such as "0600" or "644"', description: 'Its mode, set before any content is written. Default "0600".', example: '0640' }),
  owner: oneOf([string({ minLength: 1 }), integer({ minimum: 0 })], { description: 'Its owner: a user name or uid. Default: the init\'s user.' }),
  group: oneOf([string({ minLength: 1 }), integer({ minimum: 0 })], { description: 'Its group: a group name or gid. Default: the owner\'s group.' }),
}, { title: 'File', description: 'A file the init writes before the oneshot-pre tasks (and again at `berth reload`): exactly one of `template` or `source`.' });

export const filesSchema = record(fileSchema, {
  keyPattern: /^\/[^\0]*[^/]$/,
  keyHint: 'an absolute file path',
  description: 'Files the init writes before anything starts: configuration rendered from the environment, with no shell.',
});

export const watchSchema = object({
  paths: array(string({ pattern: /^\//, patternHint: 'an absolute path' }), { required: true, minItems: 1, description: 'Files or directories (a mounted ConfigMap or Secret too) whose change acts on the service.' }),
  signal: string({ pattern: /^(SIG)?[A-Za-z0-9]+$/, patternHint: 'a signal name such as SIGHUP or HUP', description: 'The signal sent to its main process on a change.', example: 'SIGHUP' }),
  action: enumOf(['restart'], { description: '`restart`: the service is restarted on a change, instead of signalled.' }),
}, { title: 'Watch', description: 'Paths whose change sends the service `signal` or restarts it (`action: restart`): exactly one of the two; one action per burst of changes.' });

/** How the init relays a service's output (docs/logging.md, "Formats"). */
export const LOG_FORMATS = ['plain', 'prefix', 'json', 'passthrough'] as const;

const FORMAT_HELP =
  '`plain`: each line as the service wrote it. `prefix`: the service name, padding, then `| `, as docker compose prints. ' +
  '`json`: one object per line with `time`, `service`, `stream` (`stdout` or `stderr`) and `line`; the init\'s own lines are json too. ' +
  '`passthrough`: the service writes straight to the init\'s stdout; nothing is kept for `berth logs`.';
const TIMESTAMPS_HELP = 'In `plain` and `prefix`: each line starts with the ISO 8601 UTC time the init read it.';

const serviceLoggingSchema = object({
  format: enumOf(LOG_FORMATS, { description: `${FORMAT_HELP} Default: the top-level \`logging.format\`.` }),
  timestamps: boolean({ description: `${TIMESTAMPS_HELP} Default: the top-level \`logging.timestamps\`.` }),
}, { title: 'Service logging', description: 'Overrides the top-level `logging` for this service, field by field.' });

export const loggingSchema = object({
  format: enumOf(LOG_FORMATS, { default: 'plain', description: FORMAT_HELP }),
  timestamps: boolean({ default: false, description: TIMESTAMPS_HELP }),
}, {
  title: 'Logging',
  default: { format: 'plain' as const, timestamps: false },
  description: "How the init relays every service's stdout and stderr; a service may override it with its own `logging`.",
});

export const serviceSchema = object({
  type: enumOf(['long-run', 'oneshot-pre', 'oneshot-post', 'scheduled'], {
    default: 'long-run',
    description:
      '`long-run`: a daemon, kept running. `oneshot-pre`: runs to completion before any long-run starts. ' +
      '`oneshot-post`: runs to completion once the long-runs it names in `after` are ready. ' +
      'Oneshots run one at a time and must exit 0. ' +
      '`scheduled`: a job, run on its `schedule` from the time the long-runs start; a failed run is reported and the next runs go on.',
  }),
  script: string({
    minLength: 1,
    description: 'Shell script run by `/bin/sh -e -c`; the shell expands variables. Give exactly one of `script` and `execStart`.',
    example: 'echo migrating\n./migrate --to latest\n',
  }),
  execStart: oneOf([
    array(string(), { minItems: 1 }),
    string({ minLength: 1 }),
  ], {
    description:
      'The command to run, without a shell: an argv list, or one string split into words shell-style ' +
      "(single and double quotes, backslash escapes; no variable expansion, so `$HOME` stays literal). " +
      'Give exactly one of `script` and `execStart`.',
    example: ['/usr/bin/node', 'server.js'],
  }),
  restartOnFailure: boolean({
    default: false,
    description:
      'Restart a long-run that exits non-zero or is killed by a signal, with backoff between tries, for as long as it keeps failing: the same as `restart: on-failure`. ' +
      'Without it, such a failure stops the container (unless `S6_DONT_TERMINATE_ON_ERROR` is set).',
  }),
  environment: record(string({ coerceScalars: true }), {
    default: {},
    keyPattern: /^[^=\0]+$/,
    keyHint: "a variable name (not empty, no '=')",
    description: "Variables added to (or overriding) the init's environment.",
    example: { PORT: '8080', NODE_ENV: 'production' },
  }),
  environmentFiles: environmentFiles('the service'),
  watch: watchSchema,
  environmentFromFiles: record(string({ pattern: /^\//, patternHint: 'an absolute path' }), {
    keyPattern: ENV_NAME,
    keyHint: 'a variable name (letters, digits, _; not starting with a digit)',
    description: "Secret variables: each set to the content of its file (one trailing newline dropped), read before anything starts. Their values never appear in the init's lines, status, records or metrics.",
    example: { API_KEY: '/run/secrets/api_key' },
  }),
  workingDirectory: string({
    pattern: /^\//,
    patternHint: 'an absolute path (starting with /)',
    description: "Directory the service starts in; the init's own working directory when unset.",
    example: '/app',
  }),
  user: oneOf([
    string({ pattern: /^[^:\s]+(:[^:\s]+)?$/, patternHint: 'a user name or uid, optionally followed by :group' }),
    integer({ minimum: 0 }),
  ], {
    description: "Run as this user: a name, a uid, or `user:group`; the init's own user when unset.",
    example: 'node',
  }),
  execLogger: string({
    minLength: 1,
    description:
      "Shell command that receives the service's stdout and stderr on its stdin; without it they go to the init's stdout.",
    example: "sed -u 's/^/web: /'",
  }),
  after: array(string(), {
    default: [],
    description:
      'Services this one starts after. A `oneshot-pre` may only name other `oneshot-pre` services. ' +
      'On a `long-run`, naming a `oneshot-pre` is always satisfied (every pre oneshot has finished before any long-run starts) ' +
      'and naming another long-run makes it start once that long-run is ready (`up`: its `readiness` passed, or it started, where it has none), waiting through its restarts. ' +
      'A `oneshot-post` naming a long-run waits for it to be ready in the same way. Shutdown stops a service before what it names. ' +
      'A long-run may not name a `oneshot-post`, which only starts after every long-run. ' +
      'A `oneshot-post` may name any service but a job. A `scheduled` job may name long-runs (each run waits until they are ready, within its `startingDeadline`) and oneshot-pre services; nothing may start after a job. ' +
      'Naming a disabled service is ignored; naming an unknown one, or forming a cycle, is an error.',
    example: ['migrate'],
  }),
  enable: boolean({
    default: true,
    description: 'A disabled service is kept in the manifest but never started; it may omit `script` and `execStart`.',
  }),
  tty: boolean({
    default: false,
    description: 'Run the service under a pseudo-terminal, for programs that behave differently without one.',
  }),
  readiness: readinessSchema,
  liveness: livenessSchema,
  startTimeout: duration('A long-run with `readiness` that is not ready this long after it started has failed (its restart policy applies). Default: no limit.', '30s'),
  watchdog: duration(
    "systemd's watchdog, for a service with `readiness: { notify: true }`: once ready, it must send `WATCHDOG=1` at least this often (it gets `WATCHDOG_USEC`, and `WATCHDOG_PID`, its own pid, unless it has a terminal; sd_watchdog_enabled(3) reads them). " +
      'A miss (or `WATCHDOG=trigger`) ends it as a failure, with SIGABRT as systemd does, then SIGKILL after its stopTimeout: `lastExit.reason` is `watchdog`, its restart policy applies. ' +
      '`WATCHDOG_USEC=` from the service changes it. 0 or absent: no watchdog.',
    '30s',
  ),
  restart: enumOf(['no', 'on-failure', 'always'], {
    description:
      'When a long-run is started again after it exits: `no`, `on-failure` (a non-zero exit or a signal), `always` (any exit). ' +
      '`restartOnFailure: true` means `on-failure`. Default `no`.',
  }),
  successExitCodes: array(integer({ minimum: 0, maximum: 255 }), {
    default: [0],
    description: 'Exit codes that are a success, not a failure (for `finished` and for `restart: on-failure`).',
    example: [0, 143],
  }),
  stopSignal: string({
    pattern: /^(SIG)?[A-Za-z0-9]+$/,
    patternHint: 'a signal name such as SIGTERM, TERM or INT',
    description: 'The signal that asks the service to stop (`berth stop`, shutdown). Default SIGTERM.',
    example: 'SIGINT',
  }),
  stopTimeout: duration('How long the service gets to exit after its stop signal before SIGKILL. Default: the init\'s grace (`S6_KILL_GRACETIME`, 3 s).', '10s'),
  maxRestarts: integer({ minimum: 0, description: 'At most this many restarts within `restartWindow`; one more failure and the service is `failed`. Default: unlimited.', example: 5 }),
  restartWindow: duration('The window `maxRestarts` counts in. Default 60s.', '60s'),
  essential: boolean({
    description:
      'When false, a failure of this service is reported and the rest goes on; when true it ends the run (unless `S6_DONT_TERMINATE_ON_ERROR` is set). ' +
      'Default true, except for a `scheduled` job, whose failed runs never end the run unless it says `essential: true`.',
  }),
  schedule: string({
    minLength: 1,
    description:
      'For `type: scheduled`: when it runs. Cron: 5 fields (minute hour day-of-month month day-of-week), or 6 with seconds first; ' +
      '`*`, values, ranges (`1-5`), lists (`1,15`), steps (`*/15`), month and weekday names (`jan`, `mon`). ' +
      'Or `@hourly`, `@daily`, `@weekly` (Sunday), `@monthly`, `@yearly`, or `@every DURATION` (`@every 30s`: every 30 s from the start).',
    example: '0 2 * * *',
  }),
  timezone: string({
    minLength: 1,
    description:
      "For `type: scheduled`: the IANA time zone its schedule is in. Default: the init's `TZ` when it names one, else UTC. " +
      'On the day clocks go forward, a time that does not exist runs once, right after the jump; on the day they go back, a time that happens twice runs once.',
    example: 'Europe/Paris',
  }),
  concurrency: enumOf(['forbid', 'allow', 'replace'], {
    description:
      'For `type: scheduled`: what a run that is due while the last one still runs does. `forbid` (the default): it is skipped, and counted. ' +
      '`allow`: it starts beside it. `replace`: the running one is stopped (its stop signal, SIGKILL after its stop timeout), then the new one starts.',
  }),
  timeout: duration('For `type: scheduled`: a run still going this long after it started gets its stop signal, then SIGKILL after its stop timeout; it counts as failed. Default: no limit.', '30m'),
  startingDeadline: duration(
    'For `type: scheduled`: how late a run may still start (the init was busy, the clock jumped, a dependency was not ready); later than that it is skipped, and counted. Default: no limit (a late run starts once, never a burst of missed runs).',
    '1m',
  ),
  failureThreshold: integer({
    minimum: 1,
    description: 'For `type: scheduled`: this many failed runs in a row make the job unhealthy: `/healthz` answers 503 and `berth check --live` exits 1 until a run succeeds. Default: never.',
    example: 3,
  }),
  resources: resourcesSchema,
  logging: serviceLoggingSchema,
}, { title: 'Service' });

export const manifestSchema = object({
  $schema: string({
    description: 'Where editors find this JSON Schema (the JSON convention); berth ignores it.',
    example: './node_modules/berth/schema/manifest.schema.json',
  }),
  version: enumOf([1], { required: true, description: 'Manifest format version. Always `1`.' }),
  http: object({
    listen: string({
      pattern: LISTEN_PATTERN,
      patternHint: LISTEN_HINT,
      required: true,
      description: 'Where the init serves `GET /healthz` (200 while no essential service failed), `/readyz` (200 when every long-run is ready), `/metrics` (Prometheus) and the status page (`/`, `/status.json`, `/logs/NAME`). `BERTH_HTTP=HOST:PORT` overrides it.',
      example: ':9090',
    }),
  }, { title: 'HTTP endpoint', description: 'An HTTP endpoint for health checks, metrics and the status page; off unless set (or `BERTH_HTTP` is).' }),
  services: record(serviceSchema, {
    required: true,
    keyPattern: SERVICE_NAME,
    keyHint: SERVICE_NAME_HINT,
    description: "Services by name. Names use letters, digits, '.', '_' and '-', and are not digits only. Services start in file order unless `after` says otherwise.",
  }),
  logging: loggingSchema,
  resources: resourcesSchema,
  environmentFiles: environmentFiles('every service'),
  files: filesSchema,
}, { description: 'The manifest `berth init` runs: which services to start, how, and in what order.' });

export type RawManifest = Infer<typeof manifestSchema>;
export type RawService = Infer<typeof serviceSchema>;
