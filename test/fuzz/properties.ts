// Every input surface's properties, once: the ava tests (test/fuzz/*.test.ts)
// run each with a fixed seed and a few cases; `npm run fuzz`
// (test/fuzz/run.ts) runs the same ones with many more.
import fc from 'fast-check';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { stringify as yamlStringify, LineCounter } from 'yaml';
import { calendarToCron } from '../../src/image/calendar.js';
import { writeBuildContext } from '../../src/image/context.js';
import { evaluateImage } from '../../src/image/evaluate.js';
import { Locations } from '../../src/image/merge.js';
import { imageSchema } from '../../src/image/options.js';
import { translateSystemd } from '../../src/image/systemd.js';
import { plain } from '../../src/image/definition.js';
import { checkManifest, formatProblem, loadManifest, plan, type Problem } from '../../src/manifest/index.js';
import { jsonErrorOffset } from '../../src/manifest/json-error.js';
import { formatPath, positionAt, yamlLimitProblem } from '../../src/manifest/locate.js';
import { jsonTooDeepAt, MAX_NESTING, TOO_DEEP } from '../../src/manifest/nesting.js';
import { parseText } from '../../src/manifest/parse.js';
import { shellSplit } from '../../src/manifest/shell-split.js';
import { signalName, signalNumber } from '../../src/unix/signals.js';
import { Cron } from 'croner';
import { parse as dotenvParse } from 'dotenv';
import { readEnvFile } from '../../src/config/env-file.js';
import { renderTemplate } from '../../src/config/template.js';
import { nextRunOf } from '../../src/jobs/next-run.js';
import { parseSchedule, type CronFields } from '../../src/manifest/schedule.js';
import { formatCpu, formatMemory, parseCpu, parseMemory } from '../../src/manifest/quantity.js';
import { parseStat } from '../../src/procfs/proc.js';
import { damage, manifestDocument, mutate, mutation, timeZone, validManifest, validSchedule, valueOf } from './arbitraries.js';

export interface PropertySpec {
  name: string;
  /** Cases in `npm test`; `npm run fuzz` multiplies them. */
  runs: number;
  property(): fc.IRawProperty<any, boolean>;
}

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

let scratchDir: string | undefined;
/** One temp dir per process, removed at exit; each case writes under a fresh name. */
function scratch(): string {
  if (!scratchDir) {
    scratchDir = mkdtempSync(join(tmpdir(), 'berth-prop-'));
    process.on('exit', () => rmSync(scratchDir!, { recursive: true, force: true }));
  }
  const dir = join(scratchDir, String(++cases));
  mkdirSync(dir);
  return dir;
}
let cases = 0;

// yaml writes nothing (undefined) for undefined: an empty file, then.
const stringifyYaml = (value: unknown): string => yamlStringify(value, { aliasDuplicateObjects: true, lineWidth: 0 }) ?? '';

/** `FILE:LINE:COL: PATH: MESSAGE` for a known file: positions inside the file, one line, nothing empty. */
function checkProblem(p: Problem, file: string, bytes?: Buffer): void {
  const line = formatProblem(p);
  const expected = new RegExp(`^${escape(file)}:(\\d+):(\\d+): ([^\\n]+?): ([^\\n]+)$`);
  const m = expected.exec(line);
  if (!m) throw new Error(`not FILE:LINE:COL: PATH: MESSAGE: ${JSON.stringify(line)}`);
  if (p.line < 1 || p.col < 1) throw new Error(`position before the file: ${line}`);
  if (bytes && p.line > bytes.filter((b) => b === 0x0a).length + 1) throw new Error(`line past the end of the file: ${line}`);
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const manifestLibrary: PropertySpec = {
  name: 'any manifest text: loading never throws, and every problem is FILE:LINE:COL: PATH: MESSAGE',
  runs: 100,
  property: () => fc.asyncProperty(manifestDocument(stringifyYaml), fc.boolean(), async (doc, strict) => {
    const file = join(scratch(), `manifest${doc.ext}`);
    const bytes = damage(doc.text, doc.damage);
    writeFileSync(file, bytes);
    const { manifest, problems } = await loadManifest(file, { strict });
    if (!manifest === !problems.length) throw new Error('a manifest comes exactly when there is no problem');
    for (const p of problems) checkProblem(p, file, bytes);
    return true;
  }),
};

const validManifests: PropertySpec = {
  name: 'manifests generated from the schema validate, as a value, as JSON and as YAML',
  runs: 40,
  property: () => fc.property(validManifest, (generated) => {
    const { value } = generated;
    const asValue = checkManifest(value, 'm.json');
    if (asValue.problems.length) throw new Error(asValue.problems.map(formatProblem).join('\n'));
    for (const [text, format] of [[JSON.stringify(value), 'json'], [generated.text, 'json'], [stringifyYaml(value), 'yaml']] as const) {
      const parsed = parseText(text, format, { strict: true });
      if (!parsed.ok) throw new Error(`${format}: ${JSON.stringify(parsed.problems)}\n${text}`);
      const checked = checkManifest(parsed.value, `m.${format}`, text);
      if (checked.problems.length) throw new Error(`${format}: ${checked.problems.map(formatProblem).join('\n')}`);
    }
    return true;
  }),
};

const planOrder: PropertySpec = {
  name: "plan puts every enabled service in its stage once, after what its 'after' names, in file order otherwise",
  runs: 40,
  property: () => fc.property(validManifest, ({ text, names }) => {
    const parsed = parseText(text, 'json');
    const { manifest } = checkManifest(parsed.ok ? parsed.value : undefined, 'm.json', text);
    const stages = plan(manifest!);
    const stageOf = { 'oneshot-pre': stages.pre, 'long-run': stages.longRuns, 'oneshot-post': stages.post, scheduled: stages.jobs };
    const planned = [...stages.pre, ...stages.longRuns, ...stages.post, ...stages.jobs].map((s) => s.name);
    const enabled = names.filter((n) => manifest!.services[n].enable);
    if (planned.length !== enabled.length || new Set(planned).size !== planned.length) throw new Error(`planned ${planned} for ${enabled}`);
    for (const [type, order] of Object.entries(stageOf)) {
      const position = new Map(order.map((s, i) => [s.name, i]));
      for (const s of order) {
        if (s.type !== type || !s.enable) throw new Error(`${s.name} (${s.type}, enable ${s.enable}) in the ${type} stage`);
        for (const dep of s.after) {
          if (position.has(dep) && position.get(dep)! > position.get(s.name)!) throw new Error(`${s.name} before ${dep} in ${type}`);
        }
      }
      // Without any `after` in the stage, the order is the file order.
      if (order.every((s) => s.after.every((d) => !position.has(d)))) {
        const fileOrder = names.filter((n) => position.has(n));
        if (order.map((s) => s.name).join() !== fileOrder.join()) throw new Error(`${type}: ${order.map((s) => s.name)} is not file order ${fileOrder}`);
      }
    }
    return true;
  }),
};

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const LINE = /^(.+):(\d+):(\d+): (.+?): (.+)$/;

const validateCli: PropertySpec = {
  name: 'berth validate on a batch of such files: exit 0 or 1, one FILE:LINE:COL: PATH: MESSAGE line per problem, a true summary',
  runs: 2,
  property: () => fc.asyncProperty(fc.array(manifestDocument(stringifyYaml), { minLength: 1, maxLength: 12 }), async (docs) => {
    const dir = scratch();
    const files = docs.map((doc, i) => {
      const file = join(dir, `m${i}${doc.ext}`);
      writeFileSync(file, damage(doc.text, doc.damage));
      return file;
    });
    const { code, stdout, stderr } = await run(['validate', ...files]);
    if (code !== 0 && code !== 1) throw new Error(`exit ${code}: ${stderr}`);
    const lines = stdout.split('\n');
    if (lines.pop() !== '') throw new Error('output does not end with a newline');
    const summary = lines.pop()!;
    for (const line of [...lines, ...stderr.split('\n').filter(Boolean)]) {
      const m = LINE.exec(line);
      if (!m || !files.includes(m[1])) throw new Error(`not FILE:LINE:COL: PATH: MESSAGE: ${JSON.stringify(line)}`);
    }
    const bad = new Set(lines.map((l) => LINE.exec(l)![1])).size;
    const expected = lines.length
      ? `${lines.length} problem${lines.length === 1 ? '' : 's'} in ${bad} of ${files.length} file${files.length === 1 ? '' : 's'}`
      : `${files.length} file${files.length === 1 ? '' : 's'} OK`;
    if (summary !== expected || (code === 1) !== lines.length > 0) throw new Error(`summary ${JSON.stringify(summary)}, exit ${code}; expected ${expected}`);
    return true;
  }),
};

// ---- image definitions

const FILES = ['image.yaml', 'a.yaml', 'sub/b.yaml', 'sub/c.yml'];
const PRIORITIES = ['!default ', '!force ', '!override:50 ', '!override:7 '];

/** Flow-style YAML (JSON with tags): `tags` gives the first nodes in turn a tag index; 0 (most) is none, the last is unknown. */
function toYaml(value: unknown, tags: number[], i = { n: 0 }): string {
  const pick = tags[i.n++] ?? 0;
  const tag = pick === 0 ? '' : pick > PRIORITIES.length ? '!bogus ' : PRIORITIES[pick - 1];
  if (Array.isArray(value)) return `${tag}[${value.map((v) => toYaml(v, tags, i)).join(', ')}]`;
  if (value && typeof value === 'object') {
    return `${tag}{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${toYaml(v, tags, i)}`).join(', ')}}`;
  }
  return tag + (JSON.stringify(value) ?? 'null');
}

const imageFields = (imageSchema.node as Extract<typeof imageSchema.node, { kind: 'object' }>).fields;
const optional = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined, freq: 2 });

type Section = Record<string, Record<string, Record<string, unknown>> | undefined>;

/** Units drawn at random name units that do not exist; leave ordering to the valid services. */
function withoutUnitOrdering(systemd: unknown): unknown {
  const units = (systemd as Section).services ?? {};
  for (const unit of Object.values(units)) for (const key of ['after', 'before', 'requires', 'wants', 'wantedBy', 'requiredBy', 'bindsTo', 'partOf']) delete unit[key];
  return systemd;
}

/** A user is exactly one of normal and system (a rule across fields the schema cannot state). */
function oneKindOfUser(users: unknown): unknown {
  for (const user of Object.values((users as Section).users ?? {})) {
    const normal = user.isNormalUser === true;
    user.isNormalUser = normal;
    user.isSystemUser = !normal;
  }
  return users;
}

/** One file's options: each section drawn from its declaration (services as valid manifests do), most left out. */
const definitionValue = fc.record({
  image: optional(valueOf(imageFields.image)),
  services: optional(validManifest.map((m) => m.value.services)),
  systemd: optional(valueOf(imageFields.systemd).map(withoutUnitOrdering)),
  users: optional(valueOf(imageFields.users).map(oneKindOfUser)),
  environment: optional(valueOf(imageFields.environment)),
  packages: optional(valueOf(imageFields.packages)),
  nginx: optional(valueOf(imageFields.nginx)),
}).map((sections) => Object.fromEntries(Object.entries(sections).filter(([, v]) => v !== undefined)));

/** systemd units as NixOS writes them, from a few names, so files define the same unit and its `after` finds it (or a cycle). */
const systemdUnit = fc.record({
  // script or ExecStart (both is a problem the mutations cover)
  script: fc.option(fc.constantFrom('echo first', 'exec sleep 1'), { nil: undefined }),
  preStart: fc.constant('echo pre'),
  after: fc.subarray(['first.service', 'second.service', 'third.service', 'network.target']),
  environment: fc.dictionary(fc.constantFrom('OUT', 'MODE'), fc.constantFrom('a', 'b'), { maxKeys: 2 }),
  path: fc.subarray(['/opt/tools/bin', '/usr/local/bin']),
  serviceConfig: fc.record({
    Type: fc.constantFrom('oneshot', 'simple', 'exec', 'forking', 'notify'),
    ExecStart: fc.option(fc.constantFrom('@/bin/echo echo second', '/bin/true', '-/bin/false'), { nil: undefined }),
    Restart: fc.constantFrom('no', 'always', 'on-failure'),
    WorkingDirectory: fc.constantFrom('/tmp', '/srv'),
    User: fc.constantFrom('root', 'alice'),
    RemainAfterExit: fc.boolean(),
  }, { requiredKeys: [] }),
}, { requiredKeys: [] }).map(({ script, serviceConfig, ...unit }) => ({
  ...unit,
  ...(script !== undefined ? { script } : {}),
  serviceConfig: Object.fromEntries(Object.entries(serviceConfig ?? {}).filter(([key, v]) => v !== undefined && (key !== 'ExecStart' || script === undefined))),
}));

/** Options from small sets of values, so several files define the same option and merging (and priorities) decide. */
const collidingValue = fc.record({
  image: fc.record({ name: fc.constantFrom('web', 'api'), env: fc.dictionary(fc.constantFrom('A', 'B'), fc.constantFrom('1', '2'), { maxKeys: 2 }) }, { requiredKeys: [] }),
  packages: fc.subarray(['curl', 'git', 'less']),
  services: fc.dictionary(fc.constantFrom('app', 'worker'), fc.record({ script: fc.constantFrom('exec sleep 1', 'exec sleep 2'), restartOnFailure: fc.boolean() }, { requiredKeys: ['script'] }), { maxKeys: 2 }),
  systemd: fc.record({ services: fc.dictionary(fc.constantFrom('first', 'second', 'third'), systemdUnit, { maxKeys: 2 }) }),
  users: fc.record({ users: fc.dictionary(fc.constantFrom('alice', 'bob'), fc.record({ isNormalUser: fc.constant(true), extraGroups: fc.subarray(['wheel', 'users']) }), { maxKeys: 2 }), groups: fc.constant({ wheel: {} }) }),
}, { requiredKeys: [] });

/** `levels` anchors, each a list of `width` aliases of the one before: width^levels copies if expanded. */
function aliasBomb(levels: number, width: number): string {
  const lines = ['bomb0: &bomb0 ["x"]'];
  for (let i = 1; i <= levels; i++) lines.push(`bomb${i}: &bomb${i} [${Array(width).fill(`*bomb${i - 1}`).join(', ')}]`);
  return `${lines.join('\n')}\n`;
}

/** Imports: the files after this one (no cycle), or with `bad` anything: itself, a missing file, an absolute path, a directory. */
function importChoices(from: string, bad: boolean): string[] {
  const base = from.includes('/') ? '../' : './';
  const later = FILES.slice(FILES.indexOf(from) + 1).map((f) => (from.includes('/') && f.startsWith('sub/') ? `./${f.slice(4)}` : base + f));
  return bad || !later.length ? [...later, ...FILES.map((f) => base + f), './missing.yaml', '/etc/hostname', './'] : later;
}

export const definitionSet = fc.array(
  fc.record({
    value: fc.tuple(fc.oneof(definitionValue, collidingValue), fc.array(mutation, { minLength: 1, maxLength: 2 }), fc.nat(19))
      .map(([v, ms, broken]) => (broken === 0 ? mutate(v, ms) : v)),
    imports: fc.array(fc.nat(), { maxLength: 3 }),
    badImports: fc.nat(9).map((n) => n === 0),
    // 0: block YAML where shared subtrees become anchors and aliases; 1: an alias bomb of random size; else flow YAML with tags
    style: fc.nat(19),
    shares: fc.array(fc.record({ op: fc.constant('share' as const), pick: fc.nat(), from: fc.nat() }), { minLength: 1, maxLength: 3 }),
    bomb: fc.tuple(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 2, max: 9 })),
    tags: fc.array(fc.oneof({ weight: 100, arbitrary: fc.constant(0) }, { weight: 20, arbitrary: fc.integer({ min: 1, max: PRIORITIES.length }) }, fc.constant(PRIORITIES.length + 1)), { maxLength: 12 }),
  }),
  { minLength: FILES.length, maxLength: FILES.length },
).map((specs) => Object.fromEntries(FILES.map((file, i) => {
  const { value, imports, badImports, tags, style, shares, bomb } = specs[i];
  const choices = importChoices(file, badImports);
  const withImports = value && typeof value === 'object' && !Array.isArray(value) && imports.length
    ? { imports: imports.map((n) => choices[n % choices.length]), ...value }
    : value;
  if (style === 0) return [file, stringifyYaml(mutate(withImports, shares))];
  if (style === 1) return [file, `${stringifyYaml(withImports)}${aliasBomb(...bomb)}`];
  return [file, toYaml(withImports, tags)];
})));

function writeDefinitions(dir: string, files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
}

/** Every file under `dir` with its mode and bytes, as one comparable string. */
function snapshot(dir: string): string {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d).sort()) {
      const path = join(d, entry);
      const info = statSync(path);
      if (info.isDirectory()) walk(path);
      else out.push(`${relative(dir, path)} ${info.mode.toString(8)}\n${readFileSync(path, 'latin1')}`);
    }
  };
  walk(dir);
  return out.join('\n');
}

function evaluation(dir: string): { report: string; output?: string } {
  const entry = join(dir, 'image.yaml');
  const result = evaluateImage(entry);
  for (const p of [...result.problems, ...result.warnings]) {
    if (!p.file.startsWith(dir) && !p.file.startsWith('/')) throw new Error(`problem in an unknown file: ${formatProblem(p)}`);
    checkProblem(p, p.file);
  }
  const strip = (p: Problem) => formatProblem(p).replaceAll(dir, 'DIR');
  const report = [...result.problems.map(strip), ...result.warnings.map(strip)].join('\n');
  if (!result.build) return { report };
  const out = join(dir, 'out');
  writeBuildContext(result.build, out, entry);
  return { report, output: snapshot(out) };
}

const imageDefinitions: PropertySpec = {
  name: 'image definitions (imports, cycles, missing files, priorities, systemd units): never a crash, and the same files build byte-identical output',
  runs: 20,
  property: () => fc.property(definitionSet, (files) => {
    const [first, second] = [scratch(), scratch()];
    writeDefinitions(first, files);
    writeDefinitions(second, files);
    const a = evaluation(first);
    const again = evaluation(first);
    const elsewhere = evaluation(second);
    if (a.report !== again.report || a.output !== again.output) throw new Error('a second evaluation of the same files differs');
    if (a.report !== elsewhere.report || a.output !== elsewhere.output) throw new Error(`the same files in another directory differ:\n${a.report}\n---\n${elsewhere.report}`);
    return true;
  }),
};

// ---- small parsers

/** One word quoted the way a person might: bare where safe, single quotes, double quotes, or backslashes. */
function quote(word: string, style: number): string {
  if (style % 4 === 0 && /^[A-Za-z0-9_./=:@%+,-]+$/.test(word)) return word;
  if (style % 4 === 1 && !word.includes("'")) return `'${word}'`;
  if (style % 4 === 2) return `"${word.replace(/["\\$`]/g, '\\$&')}"`;
  return word.length ? [...word].map((c) => (c === '\n' ? "'\n'" : `\\${c}`)).join('') : "''";
}

const shellWords: PropertySpec = {
  name: 'shellSplit gives back any argv quoted as the README says (quotes, backslashes, any whitespace between words)',
  runs: 300,
  property: () => fc.property(
    fc.array(fc.tuple(fc.string({ unit: fc.constantFrom('a', 'b', ' ', '\t', '\n', "'", '"', '\\', '$', '`', '#', '*', 'é') }), fc.nat()), { maxLength: 6 }),
    fc.array(fc.constantFrom(' ', '\t', '\n', '  '), { minLength: 1, maxLength: 3 }),
    (words, gaps) => {
      const line = words.map(([w, style]) => quote(w, style)).join(gaps.join(''));
      const split = shellSplit(line);
      if ('error' in split) throw new Error(`${JSON.stringify(line)}: ${split.error}`);
      if (JSON.stringify(split.argv) !== JSON.stringify(words.map(([w]) => w))) throw new Error(`${JSON.stringify(line)} -> ${JSON.stringify(split.argv)}`);
      return true;
    },
  ),
};

const shellLikeSh: PropertySpec = {
  name: 'shellSplit splits words as /bin/sh does, and fails where sh finds a quote unterminated',
  runs: 40,
  property: () => fc.property(fc.string({ unit: fc.constantFrom('a', 'b', ' ', '\t', "'", '"', '\\', '=', '-'), maxLength: 16 }), (line) => {
    const split = shellSplit(line);
    if ('error' in split && /trailing backslash/.test(split.error)) return true; // sh would join the next line: documented as an error instead
    const sh = spawnSync('/bin/sh', ['-c', `set -- ${line}\nprintf '%s\\0' "$#"; for a in "$@"; do printf '%s\\0' "$a"; done`], { encoding: 'utf8' });
    if ('error' in split) {
      if (sh.status === 0) throw new Error(`${JSON.stringify(line)}: shellSplit says ${split.error}, sh accepts it`);
      return true;
    }
    const [count, ...argv] = sh.stdout.split('\0').slice(0, -1);
    if (sh.status !== 0 || Number(count) !== split.argv.length || JSON.stringify(argv) !== JSON.stringify(split.argv)) {
      throw new Error(`${JSON.stringify(line)}: shellSplit ${JSON.stringify(split.argv)}, sh ${JSON.stringify(argv)} (${sh.stderr.trim()})`);
    }
    return true;
  }),
};

const jsonOffsets: PropertySpec = {
  name: 'jsonErrorOffset: end of text for valid JSON, inside the text otherwise, and never a throw',
  runs: 300,
  property: () => fc.property(fc.jsonValue(), fc.nat(), fc.constantFrom('', '}', ']', ',', ':', 'x', '"', '[', '{', '\n', '1e'), (value, at, junk) => {
    const valid = JSON.stringify(value);
    if (jsonErrorOffset(valid) !== valid.length) throw new Error(`valid JSON ${valid} stopped at ${jsonErrorOffset(valid)}`);
    const broken = valid.slice(0, at % (valid.length + 1)) + junk + valid.slice(at % (valid.length + 1));
    const offset = jsonErrorOffset(broken);
    if (offset < 0 || offset > broken.length) throw new Error(`offset ${offset} outside ${JSON.stringify(broken)}`);
    return true;
  }),
};

const positions: PropertySpec = {
  name: "positionAt agrees with yaml's LineCounter, so JSON and YAML problems point at the same line:col",
  runs: 300,
  property: () => fc.property(fc.string({ unit: fc.constantFrom('a', '\n', '\r', ' ', 'é', '\u2028') }), fc.nat(), (text, n) => {
    const offset = n % (text.length + 1);
    const counter = new LineCounter();
    counter.addNewLine(0);
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) counter.addNewLine(i + 1);
    const ours = positionAt(text, offset);
    const theirs = counter.linePos(offset);
    if (ours.line !== theirs.line || ours.col !== theirs.col) throw new Error(`${JSON.stringify(text)}@${offset}: ${JSON.stringify(ours)} vs ${JSON.stringify(theirs)}`);
    return true;
  }),
};

const paths: PropertySpec = {
  name: 'formatPath writes any path on one line, plain names dotted, odd ones quoted',
  runs: 300,
  property: () => fc.property(fc.array(fc.oneof(fc.string(), fc.nat())), (path) => {
    const text = formatPath(path);
    if (/[\n\r\u2028]/.test(text)) throw new Error(`${JSON.stringify(path)} -> ${JSON.stringify(text)}`);
    const plain = path.every((s) => typeof s === 'string' && /^[A-Za-z0-9_$-]+$/.test(s));
    if (plain && text !== path.join('.')) throw new Error(`${JSON.stringify(path)} -> ${text}`);
    return true;
  }),
};

const signals: PropertySpec = {
  name: 'signal names and numbers map both ways for every signal Node knows',
  runs: 100,
  property: () => fc.property(fc.constantFrom(...(Object.keys(constants.signals) as NodeJS.Signals[])), (name) => {
    const n = signalNumber(name);
    if (n < 1 || n > 64) throw new Error(`${name} -> ${n}`);
    const back = signalName(n);
    if (!back || signalNumber(back) !== n) throw new Error(`${name} -> ${n} -> ${back}`);
    return true;
  }),
};

/** Depth of a JSON value in lists and mappings. */
function depthOf(value: unknown): number {
  if (Array.isArray(value)) return 1 + Math.max(0, ...value.map(depthOf));
  if (value && typeof value === 'object') return 1 + Math.max(0, ...Object.values(value).map(depthOf));
  return 0;
}

function nest(value: unknown, levels: number, shape: number): unknown {
  let v = value;
  for (let i = 0; i < levels; i++) v = (shape + i) % 2 ? [v] : { k: v, '[{': '}]' };
  return v;
}

const nesting: PropertySpec = {
  name: `nesting: JSON and YAML (flow or block) are refused exactly when deeper than ${MAX_NESTING} levels`,
  runs: 100,
  property: () => fc.property(fc.jsonValue({ maxDepth: 2 }), fc.integer({ min: 0, max: 90 }), fc.nat(), (inner, levels, shape) => {
    const value = nest(inner, levels, shape);
    const tooDeep = depthOf(value) > MAX_NESTING;
    const json = JSON.stringify(value);
    if ((jsonTooDeepAt(json) >= 0) !== tooDeep) throw new Error(`JSON depth ${depthOf(value)}: ${jsonTooDeepAt(json)}`);
    for (const text of [yamlStringify(value), yamlStringify(value, { collectionStyle: 'flow' })]) {
      const problem = yamlLimitProblem(text);
      if ((problem?.message === TOO_DEEP) !== tooDeep) throw new Error(`YAML depth ${depthOf(value)}: ${JSON.stringify(problem)}\n${text}`);
    }
    return true;
  }),
};

const scheduleText: PropertySpec = {
  name: 'parseSchedule: any text is a schedule or one reason, never a throw; every schedule the docs describe parses',
  runs: 300,
  property: () => fc.property(
    fc.oneof(fc.string({ unit: fc.constantFrom('*', '/', ',', '-', ' ', '@', '0', '1', '5', '9', '3', 'a', 'm', 'o', 'n', '?', 'L', '#') }), validSchedule.map((v) => ({ valid: v }))),
    (input) => {
      const text = typeof input === 'string' ? input : input.valid;
      const parsed = parseSchedule(text);
      if (typeof input !== 'string' && 'error' in parsed) throw new Error(`${JSON.stringify(text)}: ${parsed.error}`);
      if ('error' in parsed && (parsed.error.includes('\n') || !parsed.error)) throw new Error(`not one line: ${JSON.stringify(parsed.error)}`);
      return true;
    },
  ),
};

/** The wall-clock fields of an instant in a zone. */
function wallClock(zone: string): (ms: number) => { y: number; mo: number; d: number; h: number; mi: number; s: number; wd: number; text: string } {
  const f = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric', weekday: 'short' });
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  return (ms) => {
    const p = Object.fromEntries(f.formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
    const v = { y: +p.year, mo: +p.month, d: +p.day, h: +p.hour, mi: +p.minute, s: +p.second, wd: days.indexOf(p.weekday) };
    return { ...v, text: `${v.y}-${v.mo}-${v.d} ${v.h}:${v.mi}:${v.s}` };
  };
}

function matches(f: CronFields, w: ReturnType<ReturnType<typeof wallClock>>): boolean {
  const dom = f.dayOfMonth.includes(w.d);
  const dow = f.dayOfWeek.includes(w.wd);
  const day = f.eitherDay ? dom || dow : dom && dow;
  return f.second.includes(w.s) && f.minute.includes(w.mi) && f.hour.includes(w.h) && f.month.includes(w.mo) && day;
}

const nextRuns: PropertySpec = {
  name: 'a job\'s next runs: each after the last, on a time its schedule names in its zone (or right after a DST gap swallowed it), a fixed wall time never twice on a fall-back day',
  runs: 60,
  property: () => fc.property(
    validSchedule.filter((s) => !s.startsWith('@every')),
    timeZone,
    // 2020 to 2030, often within days of a DST change (late March, October, early November, April)
    fc.oneof(fc.integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2030, 0, 1) }), fc.tuple(fc.integer({ min: 2020, max: 2029 }), fc.constantFrom(2, 3, 9, 10), fc.integer({ min: 0, max: 30 * 24 * 3600_000 })).map(([y, m, off]) => Date.UTC(y, m, 1) + off)),
    (text, zone, from) => {
      const schedule = parseSchedule(text);
      if ('error' in schedule || schedule.kind !== 'cron') throw new Error(`${text}: not a cron schedule`);
      const next = nextRunOf(Cron, schedule, zone, from);
      const wall = wallClock(zone);
      const fixedTime = !/[*/-]/.test(schedule.expression.split(' ')[schedule.seconds ? 2 : 1]) && !schedule.expression.split(' ')[schedule.seconds ? 1 : 0].includes('*');
      const seen = new Set<string>();
      let t = from;
      for (let i = 0; i < 12; i++) {
        const n = next.after(t);
        if (n === null) break;
        if (n <= t) throw new Error(`${text} in ${zone}: next after ${new Date(t).toISOString()} is ${new Date(n).toISOString()}`);
        const w = wall(n);
        // a time the spring-forward gap swallowed runs at the first instant after it: the offset changed within the hour before
        const gap = !matches(schedule.fields, w) && wall(n - 1000).h !== w.h && new Date(n).getUTCMinutes() === 0 && new Date(n).getUTCSeconds() === 0;
        if (!matches(schedule.fields, w) && !gap) throw new Error(`${text} in ${zone}: ${new Date(n).toISOString()} is ${w.text} there, not a time it names`);
        if (fixedTime && seen.has(w.text)) throw new Error(`${text} in ${zone}: ${w.text} twice (${new Date(n).toISOString()})`);
        seen.add(w.text);
        t = n;
      }
      return true;
    },
  ),
};

/** One OnCalendar= field of systemd's syntax in [min, max]: *, or a list of numbers, ranges and repetitions (that repeat, as systemd wants). */
function calendarField(min: number, max: number): fc.Arbitrary<string> {
  const n = fc.integer({ min, max });
  const item = fc.oneof(
    n.map((v) => String(v).padStart(2, '0')),
    fc.tuple(n, n).map(([a, b]) => `${Math.min(a, b)}..${Math.max(a, b)}`),
    fc.tuple(n, n, fc.integer({ min: 1, max })).map(([a, b, step]) => `${Math.min(a, b)}..${Math.max(a, b)}/${step}`),
    fc.integer({ min, max: max - 1 }).chain((a) => fc.integer({ min: 1, max: max - a }).map((step) => `${a}/${step}`)),
  );
  return fc.oneof(fc.constant('*'), fc.array(item, { minLength: 1, maxLength: 3 }).map((items) => items.join(',')));
}

const DAY_NAMES = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
const dayName = fc.tuple(fc.integer({ min: 0, max: 6 }), fc.boolean(), fc.constantFrom('lower', 'upper', 'as is')).map(([i, short, kase]) => {
  const name = short ? DAY_NAMES[i].slice(0, 3) : DAY_NAMES[i];
  return { i, text: kase === 'lower' ? name.toLowerCase() : kase === 'upper' ? name.toUpperCase() : name };
});
const weekdayList = fc.array(
  fc.oneof(dayName.map((d) => d.text), fc.tuple(dayName, dayName, fc.constantFrom('..', '-')).map(([a, b, sep]) => (a.i <= b.i ? `${a.text}${sep}${b.text}` : `${b.text}${sep}${a.text}`))),
  { minLength: 1, maxLength: 3 },
).map((items) => items.join(','));

/** OnCalendar= text in the forms docs/images.md says Berth translates. */
const supportedCalendar: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('minutely', 'hourly', 'daily', 'weekly', 'monthly', 'quarterly', 'semiannually', 'yearly', 'annually'),
  fc.record({
    weekdays: fc.option(weekdayList, { nil: undefined }),
    date: fc.option(fc.tuple(fc.boolean(), calendarField(1, 12), calendarField(1, 31)), { nil: undefined }),
    time: fc.option(fc.tuple(calendarField(0, 23), calendarField(0, 59), fc.option(calendarField(0, 59), { nil: undefined })), { nil: undefined }),
  }).filter((c) => c.weekdays !== undefined || c.date !== undefined || c.time !== undefined).map(({ weekdays, date, time }) => [
    weekdays,
    // weekdays and days of the month together have no cron equivalent
    date && `${date[0] ? '*-' : ''}${date[1]}-${weekdays === undefined ? date[2] : '*'}`,
    time && [time[0], time[1], ...(time[2] === undefined ? [] : [time[2]])].join(':'),
  ].filter((part) => part !== undefined).join(' ')),
).chain((text) => fc.option(fc.constantFrom('UTC', 'Europe/Paris', 'America/New_York', 'Asia/Kolkata'), { nil: undefined })
  .map((zone) => (zone === undefined ? text : `${text} ${zone}`)));

/** Why Berth's own schedule check refuses a translated schedule, or undefined when it takes it. */
function cronFault(schedule: string): string | undefined {
  const parsed = parseSchedule(schedule);
  return 'error' in parsed ? parsed.error : undefined;
}

const calendars: PropertySpec = {
  name: 'OnCalendar= in the supported forms translates to a cron expression of 5 or 6 fields with values in range, and keeps its time zone',
  runs: 300,
  property: () => fc.property(supportedCalendar, (text) => {
    const out = calendarToCron(text);
    if ('error' in out) throw new Error(`${JSON.stringify(text)}: ${out.error}`);
    const fault = cronFault(out.schedule);
    if (fault) throw new Error(`${JSON.stringify(text)} -> ${JSON.stringify(out.schedule)}: ${fault}`);
    const zone = /\s([A-Z][A-Za-z_]+(\/[A-Za-z_]+)?)$/.exec(text)?.[1];
    if (out.timezone !== zone) throw new Error(`${JSON.stringify(text)}: time zone ${out.timezone}, written ${zone}`);
    return true;
  }),
};

/** Bits of systemd calendar syntax, well and badly put together. */
const calendarText = fc.oneof(
  supportedCalendar,
  fc.array(fc.constantFrom('*', '-', ':', '..', '/', ',', '~', '.', ' ', '0', '1', '7', '25', '60', 'Mon', 'sun', 'Fri', 'daily', 'UTC', 'Mars/Base', '2026', '@'), { maxLength: 10 })
    .map((bits) => bits.join('')),
  fc.string({ maxLength: 20 }),
);

const timerCalendars: PropertySpec = {
  name: 'a timer with any OnCalendar= text never throws: its unit is a job with a valid cron schedule, or there is one problem quoting the text',
  runs: 300,
  property: () => fc.property(calendarText, (text) => {
    const translation = translateSystemd(
      { services: { job: { enable: true, script: 'x' } }, timers: { job: { enable: true, timerConfig: { OnCalendar: text } } } },
      {},
      new Locations(),
    );
    if (translation.warnings.length) throw new Error(`${JSON.stringify(text)}: warnings ${JSON.stringify(translation.warnings)}`);
    if (translation.problems.length) {
      const [problem, ...more] = translation.problems;
      if (more.length || !problem.message.startsWith(`timer job: OnCalendar '${text}' cannot be translated: `) || !problem.message.includes('; supported: ')) {
        throw new Error(`${JSON.stringify(text)}: ${JSON.stringify(translation.problems)}`);
      }
      return true;
    }
    const job = (plain(translation.definition!) as { services: { job: { type: string; schedule: string } } }).services.job;
    const fault = job.type === 'scheduled' ? cronFault(job.schedule) : `type ${job.type}`;
    if (fault) throw new Error(`${JSON.stringify(text)} -> ${JSON.stringify(job)}: ${fault}`);
    return true;
  }),
};

export const manifestProperties = [manifestLibrary, validManifests, planOrder, validateCli];
export const imageProperties = [imageDefinitions, calendars, timerCalendars];
const SUFFIX_BYTES: Record<string, number> = { '': 1, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9, T: 1e12 };
/** Text near a quantity: a sign, digits, a point, a suffix from Kubernetes' list and beside it, in any order or none. */
const quantityLike = fc.array(fc.constantFrom('+', '-', '.', ' ', 'e', '0', '1', '5', '9', '12', 'm', ...Object.keys(SUFFIX_BYTES), 'K', 'Pi', 'i'), { maxLength: 8 }).map((parts) => parts.join(''));

/** A refusal is one line, and quotes a string it refuses. */
const quotes = (error: string, input: unknown): boolean => error.length > 0 && !error.includes('\n') && (typeof input !== 'string' || input.includes('\n') || error.includes(`'${input}'`));

const memoryQuantities: PropertySpec = {
  name: 'memory quantities: never throws, a refusal quotes what it refuses, a whole amount with a suffix is exact, formatMemory round-trips',
  runs: 300,
  property: () => fc.property(
    fc.oneof(quantityLike, fc.string(), fc.double(), fc.anything()),
    fc.nat({ max: 2 ** 40 }), fc.constantFrom(...Object.keys(SUFFIX_BYTES)),
    fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
    (input, whole, suffix, bytes) => {
      const got = parseMemory(input);
      if (got.ok ? !(Number.isSafeInteger(got.value) && got.value > 0) : !quotes(got.error, input)) {
        throw new Error(`${String(input)}: ${JSON.stringify(got)}`);
      }
      const exact = whole * SUFFIX_BYTES[suffix];
      const scaled = parseMemory(`${whole}${suffix}`);
      const want = exact === 0 || exact > Number.MAX_SAFE_INTEGER ? false : exact;
      if ((scaled.ok ? scaled.value : false) !== want) throw new Error(`${whole}${suffix}: ${JSON.stringify(scaled)}, not ${want}`);
      const back = parseMemory(formatMemory(bytes));
      if (!back.ok || back.value !== bytes) throw new Error(`${bytes} → ${formatMemory(bytes)} → ${JSON.stringify(back)}`);
      return true;
    },
  ),
};

const cpuAmounts: PropertySpec = {
  name: 'cpu amounts: never throws, millicores, the same cores as a number, and formatCpu round-trip',
  runs: 300,
  property: () => fc.property(
    fc.oneof(quantityLike, fc.string(), fc.double(), fc.anything()),
    fc.integer({ min: 1, max: 10_000_000 }),
    (input, millicores) => {
      const got = parseCpu(input);
      if (got.ok ? !(got.value >= 0.001 && Number.isSafeInteger(Math.round(got.value * 1000))) : !quotes(got.error, input)) {
        throw new Error(`${String(input)}: ${JSON.stringify(got)}`);
      }
      const cores = millicores / 1000;
      for (const form of [`${millicores}m`, cores, String(cores), formatCpu(cores)]) {
        const p = parseCpu(form);
        if (!p.ok || p.value !== cores) throw new Error(`${form}: ${JSON.stringify(p)}, not ${cores}`);
      }
      return true;
    },
  ),
};

/** A command name as the kernel keeps one: up to 15 bytes, anything but NUL, printed raw in /proc/PID/stat (read as latin1). */
const commName = fc
  .string({ unit: fc.oneof(fc.constantFrom(')', '(', ' ', ') ', '\n', ') R 1 2 ('), fc.integer({ min: 1, max: 255 }).map((c) => String.fromCharCode(c))) })
  .map((s) => s.slice(0, 15));
/** A number field of /proc/PID/stat that Berth does not read: a count, a nice value, an unsigned long long at its top (rsslim). */
const otherField = fc.oneof(fc.nat().map(String), fc.integer({ min: -100, max: -1 }).map(String), fc.constant('18446744073709551615'));
/** The fields readStat reads (ppid, session, utime..cstime, num_threads, starttime, rss): counts. */
const READ_FIELDS = [4, 6, 14, 15, 16, 17, 20, 22, 24];

const procStats: PropertySpec = {
  name: '/proc/PID/stat with any command name (spaces, parentheses, newlines): each field read from where proc(5) puts it',
  runs: 300,
  property: () => fc.property(
    fc.nat(), commName, fc.constantFrom(...'RSDZTtWXxIPK'),
    fc.array(otherField, { minLength: 49, maxLength: 49 }), fc.array(fc.maxSafeNat(), { minLength: READ_FIELDS.length, maxLength: READ_FIELDS.length }),
    (pid, comm, state, rest, values) => {
      // rest[0] is field 4 (ppid), rest[48] field 52 (exit_code)
      READ_FIELDS.forEach((n, i) => (rest[n - 4] = String(values[i])));
      const field = (n: number): number => Number(rest[n - 4]);
      const got = parseStat(pid, Buffer.from(`${pid} (${comm}) ${state} ${rest.join(' ')}\n`, 'latin1'));
      const want = { pid, comm, state, ppid: field(4), sid: field(6), ticks: field(14) + field(15) + field(16) + field(17), threads: field(20), start: field(22), rssPages: field(24) };
      if (!isDeepStrictEqual(got, want)) throw new Error(`${JSON.stringify(comm)}: ${JSON.stringify(got)}, not ${JSON.stringify(want)}`);
      return true;
    },
  ),
};

// ---- config: templates and env files

const TEMPLATE_NAMES = ['A', 'B', '_x1', 'constructor'];
const templateEnv = fc.dictionary(fc.constantFrom(...TEMPLATE_NAMES), fc.constantFrom('', 'v', '$$', '${A}', 'x y'), { maxKeys: 4 });
const valueIn = (env: Record<string, string>, name: string): string => (Object.hasOwn(env, name) ? env[name] : '');

/** A piece of a template and what it renders to; no piece can change what the next one is. */
interface Piece { text: string; out(env: Record<string, string>): string; name?: string; required?: boolean }
const templatePiece: fc.Arbitrary<Piece> = fc.oneof(
  // no `$`, but every other character the forms are made of
  fc.string({ unit: fc.constantFrom('a', 'Z', '_', '1', ' ', '\n', '\r', '{', '}', ':', '-', '?', '+', '#', 'é', '\u2028'), maxLength: 8 }).map((text) => ({ text, out: () => text })),
  fc.constant({ text: '$$', out: () => '$' }),
  // shell forms that are not Berth's: kept as written
  fc.tuple(fc.constantFrom(...TEMPLATE_NAMES), fc.constantFrom('$N', '$ ', '$1', '$(N)', '${1}', '${ N}', '${#N}', '${}', '${N:+x}', '${N-x}', '${N:=x}', '${N?x}', '${N.x}', '${N:x}', '${N[0]}'))
    .map(([name, form]) => {
      const text = form.replaceAll('N', name);
      return { text, out: () => text };
    }),
  fc.constantFrom(...TEMPLATE_NAMES).map((name) => ({ text: `\${${name}}`, name, out: (env: Record<string, string>) => valueIn(env, name) })),
  fc.tuple(fc.constantFrom(...TEMPLATE_NAMES), fc.string({ unit: fc.constantFrom('a', '$', '{', ':', '-', ' ', '\n'), maxLength: 5 }))
    .map(([name, fallback]) => ({ text: `\${${name}:-${fallback}}`, name, out: (env: Record<string, string>) => valueIn(env, name) || fallback })),
  fc.constantFrom(...TEMPLATE_NAMES).map((name) => ({ text: `\${${name}:?}`, name, required: true, out: (env: Record<string, string>) => valueIn(env, name) })),
);

const templatePieces: PropertySpec = {
  name: 'renderTemplate: $$ is always $, unknown $ forms stay as written, ${VAR} and ${VAR:-x} take the value or the default, every ${VAR:?} missing is a problem',
  runs: 300,
  property: () => fc.property(fc.array(templatePiece, { maxLength: 12 }), templateEnv, (pieces, env) => {
    const text = pieces.map((p) => p.text).join('');
    const result = renderTemplate(text, env);
    const missing = pieces.filter((p) => p.required && !valueIn(env, p.name!)).map((p) => p.name);
    const expected = pieces.map((p) => p.out(env)).join('');
    const used = [...new Set(pieces.flatMap((p) => (p.name ? [p.name] : [])))];
    const fine = missing.length
      ? !result.ok && result.problems.map((p) => p.variable).join() === missing.join()
      : result.ok && result.text === expected && result.used.join() === used.join();
    if (!fine) throw new Error(`${JSON.stringify(text)} with ${JSON.stringify(env)}: ${JSON.stringify(result)}, expected ${missing.length ? `problems for ${missing}` : `${JSON.stringify(expected)} using ${used}`}`);
    return true;
  }),
};

const templateText: PropertySpec = {
  name: 'renderTemplate on any text: never a throw, text without $ unchanged, a result without $ renders to itself, every problem at its ${VAR:?',
  runs: 300,
  property: () => fc.property(
    fc.oneof(fc.string({ unit: fc.constantFrom('$', '$', '{', '}', ':', '-', '?', '+', '=', 'A', 'B', '_', '1', ' ', '\n', '\r', 'é'), maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 40 })),
    templateEnv,
    (text, env) => {
      const result = renderTemplate(text, env);
      if (!text.includes('$') && (!result.ok || result.text !== text || result.used.length)) throw new Error(`${JSON.stringify(text)} without $: ${JSON.stringify(result)}`);
      if (result.ok) {
        const again = renderTemplate(result.text, env);
        if (!result.text.includes('$') && (!again.ok || again.text !== result.text)) throw new Error(`${JSON.stringify(result.text)} rendered again: ${JSON.stringify(again)}`);
        return true;
      }
      const lines = text.split('\n');
      for (const p of result.problems) {
        const at = lines[p.line - 1]?.slice(p.col - 1) ?? '';
        if (!at.startsWith(`\${${p.variable}:?`) || !p.message) throw new Error(`${JSON.stringify(text)}: ${JSON.stringify(p)} points at ${JSON.stringify(at.slice(0, 10))}`);
      }
      return true;
    },
  ),
};

/** Text near the .env format: keys, both separators, three quotes, escapes, comments, every line ending, a BOM. */
const envFileText = fc.oneof(
  fc.array(fc.constantFrom('A', 'b_1', 'export ', 'x.y-z', '=', ' = ', ': ', '"', "'", '`', '\\', '\\n', '#', ' ', '\t', '\n', '\r\n', '\r', '$', '${A}', '$(id)', '\uFEFF', 'é', '\0', '\u2028'), { maxLength: 24 }).map((parts) => parts.join('')),
  fc.string({ unit: 'binary', maxLength: 40 }),
);

const envFiles: PropertySpec = {
  name: "readEnvFile on any text: never a throw; what dotenv's default parser reads, or, for a NUL, U+2028 or U+2029, one line naming the file",
  runs: 150,
  property: () => fc.property(envFileText, (text) => {
    const file = join(scratch(), '.env');
    writeFileSync(file, text);
    // what the file holds: lone surrogates are written as U+FFFD
    const written = Buffer.from(text).toString();
    const read = readEnvFile(file);
    if (read.ok === /[\0\u2028\u2029]/.test(written)) throw new Error(`${JSON.stringify(text)}: ${JSON.stringify(read)}`);
    if (!read.ok) {
      if (!read.error.startsWith(`${file}: `) || read.error.includes('\n')) throw new Error(`${JSON.stringify(text)}: ${read.error}`);
      return true;
    }
    const classic = JSON.stringify(dotenvParse(written));
    if (JSON.stringify(read.vars) !== classic) throw new Error(`${JSON.stringify(text)}: ${JSON.stringify(read.vars)}, dotenv's default parser ${classic}`);
    return true;
  }),
};

export const configProperties = [templatePieces, templateText, envFiles];
export const parserProperties = [shellWords, shellLikeSh, jsonOffsets, positions, paths, signals, nesting, scheduleText, nextRuns, memoryQuantities, cpuAmounts, procStats];
export const allProperties = [...manifestProperties, ...imageProperties, ...parserProperties, ...configProperties];
