// Generators for the property tests: values drawn from the schema DSL (so
// a new option is generated the day it is declared), valid manifests,
// mutations of them, YAML-ish noise, and sets of image definition files.
import fc from 'fast-check';
import type { Node } from '../../src/schema-language/schema.js';
import { manifestSchema, serviceSchema, SERVICE_NAME } from '../../src/manifest/schema.js';
import { shellSplit } from '../../src/manifest/shell-split.js';

const SMALL = { size: 'xsmall' } as const;

/** Strings matching `pattern` (fast-check cannot invert lookaheads: then draw and filter). */
function matching(pattern: RegExp): fc.Arbitrary<string> {
  try {
    return fc.stringMatching(pattern, SMALL).filter((s) => pattern.test(s));
  } catch {
    return fc.oneof(fc.stringMatching(/^[A-Za-z0-9._-]{1,10}$/), fc.string(SMALL)).filter((s) => pattern.test(s));
  }
}

/** A value the schema node accepts (field by field: cross-field rules are the callers' business). */
export function valueOf(node: Node): fc.Arbitrary<unknown> {
  switch (node.kind) {
    case 'string': {
      const base = node.pattern ? matching(node.pattern) : fc.string({ ...SMALL, unit: fc.constantFrom('a', 'b', ' ', '"', "'", '\\', '$', '\n', 'é', '#', ':') });
      return base.filter((s) => s.length >= (node.minLength ?? 0));
    }
    case 'boolean': return fc.boolean();
    case 'integer': return fc.integer({ min: node.minimum ?? -1000, max: node.maximum ?? 100_000 });
    case 'number': return fc.double({ min: node.minimum ?? -1000, max: node.maximum ?? 100_000, noNaN: true });
    case 'enum': return fc.constantFrom(...node.values);
    case 'array': return fc.array(valueOf(node.item), { minLength: node.minItems ?? 0, maxLength: 3 });
    case 'record': return fc.dictionary(node.keyPattern ? matching(node.keyPattern) : fc.string(SMALL), valueOf(node.value), { maxKeys: 3 });
    case 'object': {
      const fields = Object.fromEntries(Object.entries(node.fields).map(([key, field]) => [key, valueOf(field)]));
      const required = Object.entries(node.fields).filter(([, field]) => field.required).map(([key]) => key);
      return fc.record(fields, { requiredKeys: required });
    }
    case 'oneOf': return fc.oneof(...node.branches.map(valueOf));
    case 'any': return fc.jsonValue({ maxDepth: 2 });
  }
}

export const serviceName = matching(SERVICE_NAME);

/** A command `normalise` accepts: a script, an argv list with a program, or a string that splits into one. */
const serviceFields = (serviceSchema.node as Extract<Node, { kind: 'object' }>).fields;
const command = fc.oneof(
  fc.record({ script: valueOf(serviceFields.script) as fc.Arbitrary<string> }),
  fc.record({
    execStart: (valueOf(serviceFields.execStart) as fc.Arbitrary<string | string[]>)
      .filter((cmd) => {
        const argv = Array.isArray(cmd) ? cmd : (shellSplit(cmd) as { argv?: string[] }).argv;
        return !!argv && argv.length > 0 && argv[0] !== '';
      }),
  }),
);

const TYPES = ['oneshot-pre', 'long-run', 'oneshot-post', 'scheduled'] as const;
type Type = (typeof TYPES)[number];

/** Whether a `from` service may name an enabled `to` in `after` (references.ts's FORBIDDEN, as the README states it). */
export function mayWaitFor(from: Type, to: Type): boolean {
  if (to === 'scheduled') return false;
  if (from === 'oneshot-post') return true;
  return from === 'long-run' || from === 'scheduled' ? to !== 'oneshot-post' : to === 'oneshot-pre';
}

/** One field of a cron expression within its range: *, a value, a range, a list, a step. */
const cronField = (min: number, max: number): fc.Arbitrary<string> => {
  const value = fc.integer({ min, max });
  const item = fc.oneof(
    fc.constant('*'),
    value.map(String),
    fc.tuple(value, value).map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`),
    fc.tuple(fc.constantFrom('*', String(min)), fc.integer({ min: 1, max })).map(([from, step]) => `${from}/${step}`),
  );
  return fc.array(item, { minLength: 1, maxLength: 3 }).map((items) => items.join(','));
};

/** A schedule Berth accepts: 5 or 6 cron fields (day-of-month at most 28, so every month has it), a name, or @every. */
export const validSchedule: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(fc.boolean(), cronField(0, 59), cronField(0, 59), cronField(0, 23), cronField(1, 28), cronField(1, 12), cronField(0, 7)).map(([sec, s, m, h, dom, mon, dow]) => [...(sec ? [s] : []), m, h, dom, mon, dow].join(' ')) },
  fc.constantFrom('@hourly', '@daily', '@weekly', '@monthly', '@yearly', '@annually', '@midnight'),
  fc.tuple(fc.integer({ min: 1, max: 999 }), fc.constantFrom('s', 'm', 'h')).map(([n, u]) => `@every ${n}${u}`),
);

export const timeZone = fc.constantFrom('UTC', 'Europe/Paris', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kolkata', 'America/Santiago', 'Pacific/Chatham', 'Europe/London');

/** A job's own fields, valid together. */
const jobFields: fc.Arbitrary<Record<string, unknown>> = fc.record(
  {
    schedule: validSchedule,
    timezone: timeZone,
    concurrency: fc.constantFrom('forbid', 'allow', 'replace'),
    timeout: duration0(),
    startingDeadline: duration0(),
    failureThreshold: fc.integer({ min: 1, max: 10 }),
  },
  { requiredKeys: ['schedule'] },
);
const JOB_FIELDS = ['schedule', 'timezone', 'concurrency', 'timeout', 'startingDeadline', 'failureThreshold'] as const;

function duration0(): fc.Arbitrary<number | string> {
  return fc.oneof(fc.nat({ max: 100_000 }), fc.tuple(fc.nat({ max: 999 }), fc.constantFrom('ms', 's', 'm', 'h')).map(([n, u]) => `${n}${u}`));
}

/**
 * Readiness, liveness and the policies whose rules span fields (one probe
 * kind, long-runs only, startTimeout with readiness, a real signal): drawn
 * here rather than from the schema alone, so the result validates.
 */
const duration = fc.oneof(fc.nat({ max: 100_000 }), fc.tuple(fc.nat({ max: 999 }), fc.constantFrom('ms', 's', 'm', 'h')).map(([n, u]) => `${n}${u}`));
const port = fc.integer({ min: 1, max: 65535 });
const probe = fc.oneof(
  fc.record({ exec: fc.array(fc.stringMatching(/^[a-z/][a-z0-9/._-]{0,10}$/), { minLength: 1, maxLength: 3 }) }),
  fc.record({ tcp: fc.record({ port }, { requiredKeys: ['port'] }) }),
  fc.record({ http: fc.record({ port, path: fc.stringMatching(/^\/[a-z0-9/]{0,10}$/) }, { requiredKeys: ['port'] }) }),
);
const longRunPolicies = (restartOnFailure: boolean): fc.Arbitrary<Record<string, unknown>> =>
  fc
    .record(
      {
        readiness: fc.oneof(
          fc.record({ notificationFd: fc.integer({ min: 3, max: 1023 }) }),
          fc.constant({ notify: true }),
          fc.tuple(probe, fc.record({ interval: duration, timeout: duration }, { requiredKeys: [] })).map(([p, t]) => ({ ...p, ...t })),
        ),
        watchdog: duration,
        liveness: fc.tuple(probe, fc.record({ interval: duration, failureThreshold: fc.integer({ min: 1, max: 5 }) }, { requiredKeys: [] })).map(([p, t]) => ({ ...p, ...t })),
        startTimeout: duration,
        restart: restartOnFailure ? fc.constant('on-failure') : fc.constantFrom('no', 'on-failure', 'always'),
        maxRestarts: fc.nat({ max: 10 }),
      },
      { requiredKeys: [] },
    )
    .map((p) => (p.readiness === undefined ? (({ startTimeout: _, ...rest }) => rest)(p) : p))
    // a watchdog is kept by sd_notify's WATCHDOG=1: only with notify readiness
    .map((p) => ((p.readiness as { notify?: boolean } | undefined)?.notify ? p : (({ watchdog: _, ...rest }) => rest)(p)));
const POLICY_FIELDS = ['readiness', 'liveness', 'startTimeout', 'restart', 'maxRestarts', 'stopSignal', 'resources', 'watch', 'watchdog'] as const;

/** Amounts Berth accepts (more than 0, less than any machine has), and a watch with exactly one action. */
const resources = fc.record(
  {
    memory: fc.oneof(fc.integer({ min: 1, max: 2 ** 40 }), fc.tuple(fc.integer({ min: 1, max: 4096 }), fc.constantFrom('Ki', 'Mi', 'Gi', 'k', 'M', 'G')).map(([n, u]) => `${n}${u}`)),
    cpu: fc.oneof(fc.integer({ min: 1, max: 64_000 }).map((m) => m / 1000), fc.integer({ min: 1, max: 64_000 }).map((m) => `${m}m`)),
    pids: fc.integer({ min: 1, max: 100_000 }),
  },
  { requiredKeys: [] },
);
const watch = fc.tuple(fc.array(fc.stringMatching(/^\/[a-z0-9/._-]{1,12}$/), { minLength: 1, maxLength: 3 }), fc.oneof(fc.constant({ signal: 'HUP' }), fc.constant({ action: 'restart' }))).map(([paths, act]) => ({ paths, ...act }));

export interface GeneratedManifest {
  value: { version: 1; services: Record<string, Record<string, unknown>> };
  /** Service names in file order. */
  names: string[];
  /** The manifest as JSON text with the services in file order (the value's own key order may differ: JS sorts integer-like keys first). */
  text: string;
}

/**
 * A manifest that must validate: every field drawn from the schema, exactly
 * one command each, and `after` naming only services generated earlier that
 * the stage rules allow, so there is no cycle; then shuffled into file order.
 */
export const validManifest: fc.Arbitrary<GeneratedManifest> = fc
  .uniqueArray(serviceName, { minLength: 0, maxLength: 8 })
  .chain((names) => fc.tuple(
    fc.constant(names),
    fc.tuple(...names.map(() => fc.tuple(
      valueOf(serviceSchema.node) as fc.Arbitrary<Record<string, unknown>>,
      command,
      fc.constantFrom(...TYPES),
      fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, fc.constant(false)),
      fc.array(fc.nat(), { maxLength: 3 }),
      fc.boolean().chain((r) => longRunPolicies(r)),
      fc.option(fc.constantFrom('SIGTERM', 'INT', 'hup', 'SIGQUIT', 'usr1'), { nil: undefined }),
      jobFields,
      fc.record({ resources, watch }, { requiredKeys: [] }),
    ))),
    fc.array(fc.nat(), { minLength: names.length, maxLength: names.length }),
  ))
  .map(([names, specs, sortKeys]) => {
    const services: Record<string, Record<string, unknown>> = {};
    const built = names.map((name, i) => {
      const [drawn, cmd, type, enabled, picks, policies, stopSignal, job, sound] = specs[i];
      const fields: Record<string, unknown> = Object.fromEntries(Object.entries(drawn).filter(([k]) => !(POLICY_FIELDS as readonly string[]).includes(k) && !(JOB_FIELDS as readonly string[]).includes(k)));
      if (stopSignal !== undefined) fields.stopSignal = stopSignal;
      Object.assign(fields, sound);
      if (type === 'long-run') Object.assign(fields, policies, policies.restart === 'on-failure' ? {} : { restartOnFailure: false });
      if (type === 'scheduled') Object.assign(fields, job, { restartOnFailure: false });
      const { script: _s, execStart: _e, after: _a, type: _t, enable: _en, ...rest } = fields;
      const candidates = names.slice(0, i).filter((_, j) => !specs[j][3] || mayWaitFor(type, specs[j][2]));
      const after = candidates.length ? picks.map((p) => candidates[p % candidates.length]) : [];
      return [name, { ...rest, ...cmd, type, ...(enabled ? {} : { enable: false }), ...(after.length ? { after } : {}) }] as const;
    });
    const order = names.map((_, i) => i).sort((a, b) => sortKeys[a] - sortKeys[b] || a - b);
    for (const i of order) services[built[i][0]] = built[i][1];
    const text = `{"version": 1, "services": {${order.map((i) => `${JSON.stringify(built[i][0])}: ${JSON.stringify(built[i][1])}`).join(', ')}}}`;
    return { value: { version: 1 as const, services }, names: order.map((i) => names[i]), text };
  });

/** Values that break expectations: wrong types, huge, deep, odd characters. */
export const nastyValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom('', ' ', '\0', 'a\nb', '\u2028', '\uFEFF', '${HOME}', '../..', '-', '.', '..', 'x'.repeat(100_000), '\ud800', -1, 1e300, 0.5, true, null, [], {}),
  fc.integer({ min: 1, max: 200 }).map((depth) => JSON.parse('['.repeat(depth) + ']'.repeat(depth)) as unknown),
  fc.string({ unit: 'binary', maxLength: 20 }),
);

type Json = unknown;
type PathStep = string | number;

function paths(value: Json, prefix: PathStep[] = [], out: PathStep[][] = []): PathStep[][] {
  out.push(prefix);
  if (Array.isArray(value)) value.forEach((item, i) => paths(item, [...prefix, i], out));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) paths(v, [...prefix, k], out);
  return out;
}

function at(value: Json, path: PathStep[]): Json {
  return path.reduce<Json>((node, step) => (node as Record<PathStep, Json>)[step], value);
}

/** Whether `node` is `target` or holds it (the value is a DAG: shared subtrees, no cycles). */
function contains(node: Json, target: Json): boolean {
  if (node === target) return true;
  if (!node || typeof node !== 'object') return false;
  return Object.values(node).some((child) => contains(child, target));
}

export type Mutation =
  | { op: 'replace'; pick: number; with: unknown }
  | { op: 'delete'; pick: number }
  | { op: 'unknown-key'; pick: number; key: string; with: unknown }
  | { op: 'share'; pick: number; from: number }
  | { op: 'typo'; pick: number };

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('replace' as const), pick: fc.nat(), with: nastyValue }),
  fc.record({ op: fc.constant('delete' as const), pick: fc.nat() }),
  fc.record({ op: fc.constant('unknown-key' as const), pick: fc.nat(), key: fc.oneof(fc.string(SMALL), fc.constantFrom('<<', '__proto__', 'constructor', 'toString', 'enable', 'version')), with: nastyValue }),
  fc.record({ op: fc.constant('share' as const), pick: fc.nat(), from: fc.nat() }),
  fc.record({ op: fc.constant('typo' as const), pick: fc.nat() }),
);

/** Applies mutations to a deep copy; `share` makes one subtree appear twice, which YAML writes as an anchor and an alias. */
export function mutate(value: Json, mutations: Mutation[]): Json {
  const root = { root: structuredClone(value) as Json };
  for (const m of mutations) {
    const all = paths(root.root).map((p) => ['root', ...p]);
    const target = all[m.pick % all.length];
    const parent = at(root, target.slice(0, -1)) as Record<PathStep, Json>;
    const key = target[target.length - 1];
    if (m.op === 'replace') parent[key] = m.with;
    else if (m.op === 'delete') {
      if (Array.isArray(parent)) parent.splice(Number(key), 1);
      else delete parent[key];
    } else if (m.op === 'unknown-key') {
      const node = parent[key];
      if (node && typeof node === 'object' && !Array.isArray(node)) Object.defineProperty(node, m.key, { value: m.with, enumerable: true, writable: true, configurable: true });
      else parent[key] = { [m.key]: m.with };
    } else if (m.op === 'share') {
      const source = at(root, all[m.from % all.length]);
      if (!contains(source, parent)) parent[key] = source; // never a cycle: JSON and YAML writers need a tree
    }
    else if (!Array.isArray(parent) && typeof key === 'string') {
      const renamed = key.length > 1 ? key.slice(0, -1) : `${key}x`;
      Object.defineProperty(parent, renamed, { value: parent[key], enumerable: true, writable: true, configurable: true });
      delete parent[key];
    }
  }
  return root.root;
}

/** Byte-level damage to serialised text: what a bad copy, an editor or a wrong file does. */
export type ByteDamage = { kind: 'none' } | { kind: 'insert'; at: number; bytes: readonly number[] } | { kind: 'truncate'; at: number } | { kind: 'crlf' } | { kind: 'bom' } | { kind: 'empty' };

export const byteDamage: fc.Arbitrary<ByteDamage> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ kind: 'none' } as const) },
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.oneof(fc.constantFrom([0], [0xff], [0xc3], [0xed, 0xa0, 0x80], [0x09], [0x0d], [0x5b], [0x7b], [0x26, 0x61], [0x2a, 0x61], [0x21]), fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 4 })) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.constantFrom({ kind: 'crlf' } as const, { kind: 'bom' } as const, { kind: 'empty' } as const),
);

export function damage(text: string, d: ByteDamage): Buffer {
  const bytes = Buffer.from(text);
  switch (d.kind) {
    case 'none': return bytes;
    case 'insert': {
      const at = bytes.length ? d.at % bytes.length : 0;
      return Buffer.concat([bytes.subarray(0, at), Buffer.from(d.bytes), bytes.subarray(at)]);
    }
    case 'truncate': return bytes.subarray(0, bytes.length ? d.at % bytes.length : 0);
    case 'crlf': return Buffer.from(text.replace(/\n/g, '\r\n'));
    case 'bom': return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes]);
    case 'empty': return Buffer.alloc(0);
  }
}

/** Text assembled from YAML's structural pieces, so the parser's corners get visited, not just its error for line 1. */
export const yamlSoup: fc.Arbitrary<string> = fc
  .array(fc.constantFrom(
    'version: 1\n', 'services:\n', '  web:\n', '    script: x\n', '    after: [', ']\n', '  ', '- ', '[', ']', '{', '}', ': ', ', ', '\n',
    '&a ', '*a', '*b', '&b ', '!!str ', '!!map ', '!force ', '!default ', '!override:5 ', '? ', '|\n', '>-\n', '<<: ', "'", '"', '\\', '#', '\t',
    '---\n', '...\n', '%YAML 1.2\n', 'web', 'after', 'execStart', 'type', 'oneshot-pre', 'long-run', 'enable', 'false', 'null', '~', '0x1F', '1e3', 'é', '\u2028',
  ), { maxLength: 60 })
  .map((parts) => parts.join(''));

/** A whole document: a mutated valid manifest (as JSON or YAML), raw JSON, or YAML noise. */
export interface Document { text: string; ext: '.json' | '.yaml' | '.yml' | ''; damage: ByteDamage }

export function manifestDocument(stringifyYaml: (value: unknown) => string): fc.Arbitrary<Document> {
  const mutated = fc.tuple(validManifest, fc.array(mutation, { maxLength: 3 })).map(([m, ms]) => mutate(m.value, ms));
  const text = fc.oneof(
    fc.tuple(mutated, fc.boolean()).map(([v, pretty]) => ({ text: JSON.stringify(v, null, pretty ? 2 : undefined) ?? 'null', json: true })),
    mutated.map((v) => ({ text: stringifyYaml(v), json: false })),
    fc.jsonValue().map((v) => ({ text: JSON.stringify(v) ?? 'null', json: true })),
    yamlSoup.map((s) => ({ text: s, json: false })),
  );
  return fc.record({ text, ext: fc.constantFrom('.json', '.yaml', '.yml', '' as const), damage: byteDamage })
    .map(({ text: t, ext, damage: d }) => ({ text: t.text, ext: t.json ? ext : ext === '.json' ? '.yaml' : ext, damage: d }));
}

export { manifestSchema };
