// Every option an image definition may set, declared once with the manifest's
// schema DSL: validation, merging (src/image/merge.ts), `berth options`,
// docs/options.md and schema/image.schema.json all read this declaration.
import { any, array, boolean, integer, object, oneOf, record, string, type Infer } from '../schema-language/schema.js';
import { environmentFiles, filesSchema, loggingSchema, resourcesSchema, SERVICE_NAME, SERVICE_NAME_HINT, serviceSchema } from '../manifest/schema.js';
import { modules } from './modules/index.js';
import { COPY_DESCRIPTION, copyEntrySchema } from './copy.js';
import type { AnySchema, Node } from '../schema-language/schema.js';
import type { ImageModule } from './modules/module.js';

/** Characters that are safe in a Dockerfile instruction and a shell word without quoting. */
const SAFE_PATH = /^\/[A-Za-z0-9._\/@+-]*$/;
const SAFE_PATH_HINT = "an absolute path of letters, digits and . _ / @ + - (no spaces, quotes or '$')";
/** Debian policy: lower case letters, digits, + - . ; at least two characters, starting alphanumeric. Optional =version. */
export const PACKAGE_NAME = /^[a-z0-9][a-z0-9+.-]+(=[A-Za-z0-9.+~:-]+)?$/;
const ACCOUNT_NAME = /^[a-z_][a-z0-9_-]{0,31}\$?$/;
const ACCOUNT_HINT = 'a user or group name (lower case letters, digits, _ and -, starting with a letter or _; at most 32 characters)';
const NO_CONTROL = /^[^\0-\x1f\x7f]*$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export const imageSectionSchema = object({
  name: string({
    pattern: /^[a-z0-9]+([._-][a-z0-9]+)*(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/,
    patternHint: 'an image name (lower case letters, digits, and . _ - / between them)',
    description: 'Name of the image, used with `tag` in the command `berth build` suggests; `--tag` names the built image.',
    example: 'web',
  }),
  tag: string({
    pattern: /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/,
    patternHint: 'a tag (letters, digits, _ . -, at most 128 characters)',
    description: 'Tag of the image, with `name`.',
    example: 'latest',
  }),
  from: string({
    default: 'berth/base',
    pattern: /^[A-Za-z0-9][A-Za-z0-9._\/:@-]*$/,
    patternHint: 'an image reference (registry/name:tag or name@digest, no spaces)',
    description: 'The parent image. It must provide what `berth/base` does: Berth at /usr/local/bin/berth, `/init`, a Debian userland with apt-get.',
    example: 'berth/base',
  }),
  entryPoint: array(string({ pattern: NO_CONTROL, patternHint: 'a string without control characters' }), {
    merge: 'unique',
    description: 'The ENTRYPOINT as an argv list. Ignored (with a warning) when the image has services: then it is always `/init`.',
    example: ['/usr/bin/hello'],
  }),
  cmd: array(string({ pattern: NO_CONTROL, patternHint: 'a string without control characters' }), {
    merge: 'unique',
    description: 'The CMD as an argv list: the arguments of `entryPoint`. With services, the main program `/init` runs once every service is ready; its exit ends the container.',
    example: ['--verbose'],
  }),
  env: record(string({ coerceScalars: true, pattern: NO_CONTROL, patternHint: 'a value without newlines or other control characters' }), {
    default: {},
    keyPattern: ENV_NAME,
    keyHint: 'a variable name (letters, digits and _, not starting with a digit)',
    description: 'Environment variables of the image (ENV): every service and `podman run IMAGE CMD` sees them. Merged key by key.',
    example: { NODE_ENV: 'production' },
  }),
  exposedPorts: record(object({}), {
    default: {},
    keyPattern: /^\d{1,5}(\/(tcp|udp|sctp))?$/,
    keyHint: 'a port spec like 8080 or 8080/tcp (tcp, udp or sctp)',
    description: 'Ports the image listens on (EXPOSE), as in the OCI image config: `"8080/tcp": {}`. `podman run -P` publishes them.',
    example: { '8080/tcp': {} },
  }),
  workingDir: string({ pattern: SAFE_PATH, patternHint: SAFE_PATH_HINT, description: 'The working directory (WORKDIR) of `run` commands and of the container.', example: '/app' }),
  user: string({
    pattern: /^[a-z_0-9][a-z0-9_-]*(:[a-z_0-9][a-z0-9_-]*)?$/,
    patternHint: 'a user name or uid, optionally :group',
    description: 'The user the container starts as (USER). With services, `/init` then runs as this user and cannot switch users for services.',
    example: 'nobody',
  }),
  labels: record(string({ coerceScalars: true, pattern: /^[^\0-\x1f\x7f"\\]*$/, patternHint: 'a value without quotes, backslashes or control characters' }), {
    default: {},
    keyPattern: /^[A-Za-z0-9][A-Za-z0-9._\/-]*$/,
    keyHint: 'a label key (letters, digits, . _ / -)',
    description: 'Image labels (LABEL). Merged key by key.',
    example: { 'org.opencontainers.image.source': 'https://example.com/web' },
  }),
  volumes: array(string({ pattern: SAFE_PATH, patternHint: SAFE_PATH_HINT }), {
    default: [],
    description: 'Mount points (VOLUME). Lists from several modules concatenate; duplicates are dropped.',
    example: ['/var/lib/app'],
  }),
  run: array(string({ minLength: 1 }), {
    description: 'Extra build commands, each run by `/bin/sh -e -c` in a RUN step after packages, accounts and /etc files are in place. Lists concatenate in import order.',
    default: [],
    example: ['mkdir -p /srv/www'],
  }),
  interactive: boolean({
    default: false,
    description: 'Add a shell and the usual tools for working inside the container: bash, coreutils, findutils, grep, sed, less, procps.',
  }),
}, { title: 'Image', description: 'The image itself: its parent, its name, and the container configuration the Dockerfile sets.' });

/** The systemd unit subset Berth translates; see docs/images.md. Unknown directives are warned about, never silently dropped. */
const unsupported = (what: string) => any({ description: `${what} Accepted for compatibility, not translated: a warning names it.` });

export const systemdServiceSchema = object({
  enable: boolean({ default: true, description: 'A disabled unit becomes a disabled Berth service: kept in the manifest, never started.' }),
  description: string({ description: 'What the unit is for; documentation only.' }),
  script: string({ minLength: 1, description: 'Shell script that is the main command (`/bin/sh -e`); or `serviceConfig.ExecStart`.', example: 'echo first' }),
  preStart: string({ minLength: 1, description: 'Shell script run before the main command, in the same service (a failure fails the unit).', example: 'echo before second' }),
  environment: record(string({ coerceScalars: true }), {
    keyPattern: ENV_NAME,
    keyHint: 'a variable name',
    description: 'Environment variables of the unit.',
    example: { OUTPUT: 'out' },
  }),
  path: array(string({ pattern: SAFE_PATH, patternHint: SAFE_PATH_HINT }), {
    description: "Directories prepended to the unit's PATH, first one first.",
    example: ['/opt/tools/bin'],
  }),
  after: array(string({ minLength: 1 }), {
    description: 'Units (with or without `.service`) or Berth services this one starts after. `.target` units are ignored with a warning.',
    example: ['first.service'],
  }),
  wantedBy: array(string(), { description: '`multi-user.target` and `default.target` are accepted (every enabled unit starts); other targets give a warning.' }),
  serviceConfig: record(any(), {
    description:
      'The [Service] section. Translated: `Type` (simple, exec → long-run; notify → long-run with `readiness: { notify: true }`; oneshot → oneshot-pre, or oneshot-post when it runs after a long-run), ' +
      '`ExecStart` (a leading `@` sets argv[0], `-` ignores failure), `ExecStartPre`, `WorkingDirectory`, `User`, `Group`, `Restart` (no, on-failure, always), ' +
      '`MemoryMax`, `CPUQuota` and `TasksMax` (as `resources:` memory, cpu and pids; systemd sizes count in 1024s), `WatchdogSec` (as `watchdog:`, with Type=notify). ' +
      'Every other directive gives a warning naming it and the unit.',
    example: { Type: 'oneshot', ExecStart: '@/bin/echo echo second', Restart: 'no' },
  }),
  requires: unsupported('Hard dependencies.'),
  wants: unsupported('Soft dependencies.'),
  before: unsupported('Reverse ordering.'),
  postStart: unsupported('Script run after the main command starts.'),
  preStop: unsupported('Script run before stopping.'),
  postStop: unsupported('Script run after stopping.'),
  reload: unsupported('Reload script.'),
  unitConfig: unsupported('The [Unit] section.'),
  startAt: oneOf([string({ minLength: 1 }), array(string({ minLength: 1 }), { minItems: 1 })], {
    description:
      'When the unit runs, as systemd `OnCalendar=` text: shorthand for a timer of the same name. The unit becomes a `scheduled` job. ' +
      'A job has one schedule: with a list, the first calendar is used and the others give a warning.',
    example: 'daily',
  }),
  restartIfChanged: unsupported('NixOS switch behaviour.'),
  restartTriggers: unsupported('NixOS switch behaviour.'),
  requiredBy: unsupported('Reverse hard dependencies.'),
  partOf: unsupported('Propagated stops and restarts.'),
  bindsTo: unsupported('Strong dependencies.'),
  conflicts: unsupported('Conflicting units.'),
  onFailure: unsupported('Units started on failure.'),
  scriptArgs: unsupported('Arguments to `script`.'),
}, { title: 'systemd unit', description: 'A systemd service in NixOS syntax, translated into a Berth service of the same name.' });

export const systemdTimerSchema = object({
  enable: boolean({ default: true, description: 'A disabled timer leaves its unit a disabled job: kept in the manifest, never run.' }),
  description: string({ description: 'What the timer is for; documentation only.' }),
  wantedBy: array(string(), { description: '`timers.target` (and `multi-user.target`, `default.target`) are accepted: every enabled timer runs; other targets give a warning.' }),
  timerConfig: record(any(), {
    description:
      'The [Timer] section. It turns the unit it starts (`Unit`, default the timer\'s own name; `x.service` is the unit `x`) into a `scheduled` job. ' +
      'Translated: `OnCalendar` (into a cron `schedule`, and `timezone` when it ends with one; see docs/images.md for the forms), ' +
      'or else `OnUnitActiveSec` / `OnUnitInactiveSec` (into `@every DURATION`; `OnBootSec` beside them is accepted). ' +
      'Every other directive (`Persistent`, `RandomizedDelaySec`, `AccuracySec`, `OnBootSec` alone, ...) gives a warning naming it and the timer.',
    example: { OnCalendar: 'Mon..Fri 02:00 Europe/Paris', Unit: 'backup.service' },
  }),
  requires: unsupported('Hard dependencies.'),
  wants: unsupported('Soft dependencies.'),
  after: unsupported('Ordering.'),
  before: unsupported('Reverse ordering.'),
  unitConfig: unsupported('The [Unit] section.'),
}, { title: 'systemd timer', description: 'A systemd timer in NixOS syntax: its unit becomes a scheduled Berth job.' });

export const userSchema = object({
  isNormalUser: boolean({ default: false, description: 'A person: uid from 1000, group `users`, home /home/NAME created, shell /bin/bash. Set this or `isSystemUser`.' }),
  isSystemUser: boolean({ default: false, description: 'A daemon account: uid below 1000, a group of its own name unless `group` says otherwise, shell /usr/sbin/nologin.' }),
  uid: integer({ minimum: 0, description: 'Fixed uid; allocated (deterministically, skipping ids the parent image uses) when unset.' }),
  group: string({ pattern: ACCOUNT_NAME, patternHint: ACCOUNT_HINT, description: 'Primary group: `users` for normal users, the user name for system users.', example: 'users' }),
  extraGroups: array(string({ pattern: ACCOUNT_NAME, patternHint: ACCOUNT_HINT }), {
    description: 'Supplementary groups; groups not declared in `users.groups` nor present in the parent image are created.',
    example: ['wheel'],
  }),
  home: string({ pattern: SAFE_PATH, patternHint: SAFE_PATH_HINT, description: 'Home directory: /home/NAME for normal users, /nonexistent otherwise.' }),
  createHome: boolean({ description: 'Create the home directory (mode 0700, owned by the user); default: true for normal users.' }),
  shell: string({ pattern: SAFE_PATH, patternHint: SAFE_PATH_HINT, description: 'Login shell: /bin/bash for normal users, /usr/sbin/nologin otherwise.' }),
  description: string({ pattern: /^[^:\n\0-\x1f]*$/, patternHint: 'text without ":" or control characters', description: 'The GECOS field: usually the full name.', example: 'Alice' }),
}, { title: 'User', description: 'An account created at image build time. Accounts already in the parent image are kept as they are.' });

export const groupSchema = object({
  gid: integer({ minimum: 0, description: 'Fixed gid; allocated when unset (from 1000, skipping ids the parent image uses).' }),
  members: array(string({ pattern: ACCOUNT_NAME, patternHint: ACCOUNT_HINT }), { description: 'Users added to the group, besides those naming it in `extraGroups`.' }),
}, { title: 'Group' });

export const etcFileSchema = object({
  enable: boolean({ default: true, description: 'A disabled file is not written.' }),
  text: string({ description: 'The contents. Give exactly one of `text` and `source`.', example: '{ "debug": false }\n' }),
  source: string({
    minLength: 1,
    description:
      'A file or directory to copy, relative to the definition file that names it, and inside that file\'s directory ' +
      '(no `..` out of it, no symlinks). A directory is copied whole, keeping executable bits.',
    example: './www',
  }),
  target: string({ minLength: 1, description: 'Path under /etc, relative (`nginx/nginx.conf`); default the entry\'s name. Must stay inside /etc.' }),
  mode: string({ pattern: /^0?[0-7]{3}$/, patternHint: 'an octal mode like 0644', description: 'File mode, octal; default 0644 (0755 for an executable source).', example: '0640' }),
  user: string({ pattern: ACCOUNT_NAME, patternHint: ACCOUNT_HINT, description: 'Owner, by name (created by `users.users` or in the parent image); root when unset.' }),
  group: string({ pattern: ACCOUNT_NAME, patternHint: ACCOUNT_HINT, description: 'Group, by name; root when unset.' }),
  uid: integer({ minimum: 0, description: 'Owner, by number (instead of `user`).' }),
  gid: integer({ minimum: 0, description: 'Group, by number (instead of `group`).' }),
}, { title: '/etc file', description: 'A file (or directory) placed under /etc in the image.' });

const assertionSchema = object({
  assertion: boolean({ required: true, description: 'When false, the build fails with `message`.' }),
  message: string({ required: true, minLength: 1 }),
}, { title: 'Assertion' });

const SERVICES_RECORD = {
  keyPattern: SERVICE_NAME,
  keyHint: SERVICE_NAME_HINT,
  default: {},
  description: 'Berth services, exactly as in the manifest (see docs/manifest.md); merged field by field. With any service the entrypoint is `/init`.',
};

const coreFields = {
  imports: array(string({ minLength: 1 }), {
    default: [],
    description: 'Other definition files merged with this one, relative to this file. Imported files come first; each file is read once.',
    example: ['../common/base.yaml'],
  }),
  image: imageSectionSchema,
  services: record(serviceSchema, SERVICES_RECORD),
  logging: loggingSchema,
  resources: resourcesSchema,
  environmentFiles: environmentFiles('every service'),
  files: filesSchema,
  systemd: object({
    services: record(systemdServiceSchema, {
      keyPattern: SERVICE_NAME,
      keyHint: SERVICE_NAME_HINT,
      default: {},
      description: 'systemd units by name (without `.service`), translated into Berth services.',
    }),
    timers: record(systemdTimerSchema, {
      keyPattern: SERVICE_NAME,
      keyHint: SERVICE_NAME_HINT,
      default: {},
      description: 'systemd timers by name (without `.timer`): each makes the unit it starts a scheduled Berth job.',
    }),
  }, { description: 'systemd units, NixOS style.' }),
  users: object({
    users: record(userSchema, { default: {}, keyPattern: ACCOUNT_NAME, keyHint: ACCOUNT_HINT, description: 'User accounts by name.' }),
    groups: record(groupSchema, { default: {}, keyPattern: ACCOUNT_NAME, keyHint: ACCOUNT_HINT, description: 'Groups by name.' }),
  }, { description: 'Accounts, applied inside the image at build time by `berth apply-accounts`.' }),
  environment: object({
    etc: record(etcFileSchema, { default: {}, description: 'Files under /etc by name (the default target).' }),
  }, { description: 'The system environment.' }),
  copy: record(copyEntrySchema, { default: {}, description: COPY_DESCRIPTION, example: { '/app': './app', '/app/config.json': { source: './config.json', mode: '0640', owner: 'app' } } }),
  packages: array(string({ pattern: PACKAGE_NAME, patternHint: 'a Debian package name (lower case letters, digits, + - .), optionally =version' }), {
    default: [],
    description: 'Debian packages installed with apt-get (no recommends). `NAME=VERSION` pins a version; `berth build` warns about packages without one, since apt-get installs whatever the mirror serves at build time. Lists concatenate; duplicates are dropped, and a pinned mention replaces unpinned ones of the same package.',
    example: ['curl'],
  }),
  assertions: array(assertionSchema, { default: [], description: 'Checks that fail the build with their message when `assertion` is false. Modules add their own.' }),
  warnings: array(string({ minLength: 1 }), { default: [], description: 'Messages printed by `berth build` and `berth validate`.' }),
};

function withModules<F extends Record<string, AnySchema>>(fields: F): F & Record<string, AnySchema> {
  const all: Record<string, AnySchema> = { ...fields };
  const known: Record<string, AnySchema> = {};
  for (const module of modules) {
    if (module.mount === 'services') {
      known[module.name] = { node: mountedOn(serviceSchema.node, module) };
      continue;
    }
    if (Object.hasOwn(all, module.name)) throw new Error(`image module '${module.name}' clashes with an option of the same name`);
    all[module.name] = module.options;
  }
  if (Object.keys(known).length) all.services = record(serviceSchema, { ...SERVICES_RECORD, known });
  return all as F & Record<string, AnySchema>;
}

/** A service with a module's options beside its own fields; the module's `enable` (no default) is the service's. */
function mountedOn(service: Node, module: ImageModule): Node {
  const options = module.options.node;
  if (service.kind !== 'object' || options.kind !== 'object') throw new Error(`image module '${module.name}': options and services must be objects`);
  for (const key of Object.keys(options.fields)) {
    if (key !== 'enable' && Object.hasOwn(service.fields, key)) throw new Error(`image module '${module.name}': option '${key}' clashes with a service field`);
  }
  return { ...options, fields: { ...service.fields, ...options.fields } };
}

/** The fields a mounted module adds to its service: taken off it before the manifest check. */
export function moduleFields(module: ImageModule): string[] {
  const options = module.options.node;
  return options.kind === 'object' ? Object.keys(options.fields).filter((key) => key !== 'enable') : [];
}

export const imageSchema = object(withModules(coreFields), {
  description: 'An image definition: a YAML file of options, merged with the files it imports.',
});

/** The typed core of an evaluated definition; module options are read through their module's own schema. */
const coreSchema = object(coreFields);
type Core = Infer<typeof coreSchema>;
/** Nested objects are always present after evaluation (evaluate.ts fills them in so their defaults apply). */
export type ImageConfig = Omit<Core, 'image' | 'systemd' | 'users' | 'environment'>
  & Required<Pick<Core, 'image' | 'systemd' | 'users' | 'environment'>> & Record<string, unknown>;
export type EtcFile = Infer<typeof etcFileSchema>;
export type UserOptions = Infer<typeof userSchema>;
export type GroupOptions = Infer<typeof groupSchema>;
export type SystemdService = Infer<typeof systemdServiceSchema>;
export type SystemdTimer = Infer<typeof systemdTimerSchema>;
