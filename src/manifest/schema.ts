// The manifest, version 1: the one declaration that validation, the JSON
// Schema (schema/manifest.schema.json) and docs/manifest.md all come from.
import { array, boolean, enumOf, integer, object, oneOf, record, string, type Infer } from './dsl/schema.js';

/** Service names become file names in the state dir, so they stay plain. */
export const SERVICE_NAME = /^(?!\.\.?$)[A-Za-z0-9._-]+$/;

/** How the init relays a service's output (CONTRACT.md "Logging"). */
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

const loggingSchema = object({
  format: enumOf(LOG_FORMATS, { default: 'plain', description: FORMAT_HELP }),
  timestamps: boolean({ default: false, description: TIMESTAMPS_HELP }),
}, {
  title: 'Logging',
  default: { format: 'plain' as const, timestamps: false },
  description: "How the init relays every service's stdout and stderr; a service may override it with its own `logging`.",
});

export const serviceSchema = object({
  type: enumOf(['long-run', 'oneshot-pre', 'oneshot-post'], {
    default: 'long-run',
    description:
      '`long-run`: a daemon, kept running. `oneshot-pre`: runs to completion before any long-run starts. ' +
      '`oneshot-post`: runs to completion once every long-run has been started. ' +
      'Oneshots run one at a time and must exit 0.',
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
      'Restart a long-run that exits non-zero or is killed by a signal, with backoff between tries, for as long as it keeps failing. ' +
      'Without it, such a failure stops the container (unless `S6_DONT_TERMINATE_ON_ERROR` is set).',
  }),
  environment: record(string({ coerceScalars: true }), {
    default: {},
    keyPattern: /^[^=\0]+$/,
    keyHint: "a variable name (not empty, no '=')",
    description: "Variables added to (or overriding) the init's environment.",
    example: { PORT: '8080', NODE_ENV: 'production' },
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
      'and naming another long-run orders their spawn: it starts once that long-run has been started, without waiting for it to be ready. ' +
      'A long-run may not name a `oneshot-post`, which only starts after every long-run. ' +
      'A `oneshot-post` may name any service. Naming a disabled service is ignored; naming an unknown one, or forming a cycle, is an error.',
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
  logging: serviceLoggingSchema,
}, { title: 'Service' });

export const manifestSchema = object({
  $schema: string({
    description: 'Where editors find this JSON Schema (the JSON convention); berth ignores it.',
    example: './node_modules/berth/schema/manifest.schema.json',
  }),
  version: enumOf([1], { required: true, description: 'Manifest format version. Always `1`.' }),
  services: record(serviceSchema, {
    required: true,
    keyPattern: SERVICE_NAME,
    keyHint: "a valid service name (letters, digits, '.', '_', '-')",
    description: "Services by name. Names use letters, digits, '.', '_' and '-'. Services start in file order unless `after` says otherwise.",
  }),
  logging: loggingSchema,
}, { description: 'The manifest `berth init` runs: which services to start, how, and in what order.' });

export type RawManifest = Infer<typeof manifestSchema>;
export type RawService = Infer<typeof serviceSchema>;
