// Evaluates an image definition: load the files, merge them, let the enabled
// service modules and the systemd translation add their definitions, merge
// again, and check the result. Produces everything the build writes, or the
// problems (each pointing into the file that made it) that stop it.
import type { Node } from '../schema-language/schema.js';
import { validate } from '../schema-language/validate.js';
import { checkValue } from '../manifest/check.js';
import { formatPath } from '../manifest/locate.js';
import type { Problem } from '../manifest/types.js';
import { type AccountsSpec, accountsSpec } from './accounts.js';
import { type Loc, plain as plainValue } from './definition.js';
import { type CopyOutput, laterCopiesWin, resolveCopy } from './copy.js';
import { type EtcOutput, resolveEtc } from './etc.js';
import { loadDefinitions } from './load.js';
import { type Def, type Locations, mergeDefinitions, type MergeProblem, plainDef, toDefNode } from './merge.js';
import type { Assertion, ImageModule } from './modules/module.js';
import { modules } from './modules/index.js';
import { installList, pinConflicts } from './packages.js';
import { imageSchema, type ImageConfig, moduleFields } from './options.js';
import { type SecretFile, secretFiles, secretProblems } from './secrets.js';
import { translateSystemd } from './systemd.js';

/** Tools `image.interactive` adds. */
export const INTERACTIVE_PACKAGES = ['bash', 'coreutils', 'findutils', 'grep', 'less', 'procps', 'sed'];

export interface ImageBuild {
  config: ImageConfig;
  /** The manifest as written to manifest.json: defaults spelled out, services in definition order. */
  manifest: {
    version: 1;
    services: Record<string, Record<string, unknown>>;
    logging: ImageConfig['logging'];
    resources?: ImageConfig['resources'];
    environmentFiles?: ImageConfig['environmentFiles'];
    files?: ImageConfig['files'];
  };
  etc: EtcOutput[];
  /** `copy:`, sorted by target. */
  copy: CopyOutput[];
  /** The secret files services read at run time, which --kube mounts from a Secret. */
  secrets: SecretFile[];
  accounts: AccountsSpec;
  /** Sorted, without duplicates. */
  packages: string[];
  entryPoint?: string[];
  cmd?: string[];
  /** Why the enabled service modules need root at run time, each as `MODULE module: REASON`. */
  needsRoot: string[];
}

export interface Evaluation {
  build?: ImageBuild;
  problems: Problem[];
  warnings: Problem[];
  /** Every definition file read, imports included, in merge order. */
  files: string[];
}

export function evaluateImage(file: string): Evaluation {
  const warnings: MergeProblem[] = [];
  const { files, problems: loadProblems } = loadDefinitions(file);
  const done = (problems: MergeProblem[], build?: ImageBuild): Evaluation => ({
    ...(build && !problems.length ? { build } : {}),
    problems: inFileOrder(problems.map(toProblem)),
    warnings: inFileOrder(warnings.map(toProblem)),
    files: files.map((f) => f.file),
  });
  if (loadProblems.length) return done(loadProblems);

  const fileDefs: Def[] = laterCopiesWin(files.map((f) => plainDef(f.root)));
  const first = mergeAndCheck(fileDefs);
  if (first.problems.length) return done(first.problems);

  // Service modules: each enabled one defines other options from its own.
  const moduleDefs: Def[] = [];
  const assertions: { assertion: Assertion; loc: Loc; path: string }[] = [];
  const problems: MergeProblem[] = [];
  const needsRoot: string[] = [];
  for (const module of modules) {
    const options = moduleOptions(module, first.config);
    if (!options?.enable) continue;
    const at = module.mount ? [module.mount, module.name] : [module.name];
    const where = first.locations.locate({ path: [...at, 'enable'] }) ?? { file, line: 1, col: 1 };
    const loc: Loc = { ...where, via: `${module.name} module` };
    const out = module.config(options);
    const node = toDefNode(out.config, loc);
    for (const issue of validate(imageSchema, out.config === null ? {} : stripPriorities(out.config), [], { partial: true }).issues) {
      problems.push({ loc, path: formatPath(issue.path), message: `made by the ${module.name} module: ${issue.message}` });
    }
    moduleDefs.push(plainDef(node));
    for (const assertion of out.assertions ?? []) assertions.push({ assertion, loc, path: module.name });
    for (const message of out.warnings ?? []) warnings.push({ loc, path: module.name, message });
    if (out.needsRoot) needsRoot.push(`${module.name} module: ${out.needsRoot}`);
  }
  if (problems.length) return done(problems);
  const second = moduleDefs.length ? mergeAndCheck([...fileDefs, ...moduleDefs]) : first;
  if (second.problems.length) return done(second.problems);

  const systemd = translateSystemd(second.config.systemd, second.config.services, second.locations);
  warnings.push(...systemd.warnings);
  if (systemd.problems.length) return done(systemd.problems);
  const third = systemd.definition ? mergeAndCheck([...fileDefs, ...moduleDefs, plainDef(systemd.definition)]) : second;
  if (third.problems.length) return done(third.problems);
  const { config, locations } = third;
  const at = (path: (string | number)[]) => locations.locate({ path }) ?? { file, line: 1, col: 1 };
  problems.push(...takeModuleOptions(config, third.raw, at));

  config.assertions.forEach((a, i) => assertions.push({ assertion: a, loc: at(['assertions', i]), path: `assertions[${i}]` }));
  for (const { assertion, loc, path } of assertions) {
    if (!assertion.assertion) problems.push({ loc, path, message: `assertion failed: ${assertion.message}` });
  }
  config.warnings.forEach((message, i) => warnings.push({ loc: at(['warnings', i]), path: `warnings[${i}]`, message }));

  // The services, logging, resources, environment files and rendered files are exactly a manifest's: let the manifest's own checks judge them.
  const manifest = {
    version: 1 as const,
    services: config.services as Record<string, Record<string, unknown>>,
    logging: config.logging,
    ...(config.resources ? { resources: config.resources } : {}),
    ...(config.environmentFiles?.length ? { environmentFiles: config.environmentFiles } : {}),
    ...(config.files && Object.keys(config.files).length ? { files: config.files } : {}),
  };
  const located = new Map<string, Loc>();
  const checked = checkValue(manifest, file, (issue) => {
    const loc = locations.locate(issue) ?? at([]);
    located.set(formatPath(issue.path), loc);
    return loc;
  });
  for (const p of checked.problems) problems.push({ loc: located.get(p.path) ?? at([]), path: p.path, message: p.message });

  const etc = resolveEtc(config.environment.etc, locations);
  problems.push(...etc.problems);
  const copy = resolveCopy(config.copy, locations, config.users.users, config.users.groups);
  problems.push(...copy.problems);
  const secrets = secretFiles(config);
  problems.push(...secretProblems(secrets, config, { etc: etc.files, copy: copy.files }, at));
  const accounts = accountsSpec(config.users.users, config.users.groups);
  for (const p of accounts.problems) problems.push({ loc: at(p.path), path: formatPath(p.path), message: p.message });

  const hasServices = Object.keys(config.services).length > 0;
  if (hasServices) {
    if (config.image.entryPoint !== undefined) {
      warnings.push({ loc: at(['image', 'entryPoint']), path: 'image.entryPoint', message: 'ignored: the image has services, so the entrypoint is /init' });
    }
  }
  const packages = installList([...config.packages, ...(config.image.interactive ? INTERACTIVE_PACKAGES : [])]);
  for (const [name, versions] of pinConflicts(packages)) {
    problems.push({ loc: at(['packages']), path: 'packages', message: `${name} is pinned to ${versions.length} versions (${versions.join(', ')}); pin one` });
  }
  const build: ImageBuild = {
    config,
    manifest,
    etc: etc.files,
    copy: copy.files,
    secrets,
    accounts: accounts.spec,
    packages,
    needsRoot,
    ...(hasServices ? { entryPoint: ['/init'] } : config.image.entryPoint ? { entryPoint: config.image.entryPoint } : {}),
    // with services, the CMD is /init's main program: run once the services are ready
    ...(config.image.cmd ? { cmd: config.image.cmd } : {}),
  };
  return done(problems, build);
}

interface Checked {
  config: ImageConfig;
  locations: Locations;
  problems: MergeProblem[];
  /** the merged definitions before defaults: what was written */
  raw: Record<string, unknown>;
}

/** Merges and validates against the declarations, filling in defaults. Exported for tests of one stage (the systemd translation). */
export function mergeAndCheck(defs: Def[]): Checked {
  const merged = mergeDefinitions(imageSchema.node, defs);
  if (merged.problems.length) return { config: {} as ImageConfig, locations: merged.locations, problems: merged.problems, raw: merged.value };
  const { value, issues } = validate(imageSchema, withObjects(imageSchema.node, merged.value));
  const problems = issues.map((issue) => ({
    loc: merged.locations.locate(issue) ?? defs[defs.length - 1].node.loc,
    path: formatPath(issue.path),
    message: issue.message,
  }));
  return { config: value as ImageConfig, locations: merged.locations, problems, raw: merged.value };
}

/** A module's options: its top-level key, or for a mounted one its fields on the service of its name. */
function moduleOptions(module: ImageModule, config: ImageConfig): { enable?: boolean } | undefined {
  if (!module.mount) return config[module.name] as { enable?: boolean } | undefined;
  const service = config.services[module.name] as Record<string, unknown> | undefined;
  if (!service) return undefined;
  return Object.fromEntries(['enable', ...moduleFields(module)].filter((k) => k in service).map((k) => [k, service[k]]));
}

/**
 * Takes mounted modules' options off their services, which the manifest
 * would not know; one written on a service whose module is off is a problem
 * that says how to switch it on.
 */
function takeModuleOptions(config: ImageConfig, raw: Record<string, unknown>, at: (path: (string | number)[]) => Loc): MergeProblem[] {
  const problems: MergeProblem[] = [];
  for (const module of modules) {
    if (!module.mount) continue;
    const service = config.services[module.name] as Record<string, unknown> | undefined;
    if (!service) continue;
    const written = ((raw.services as Record<string, Record<string, unknown>> | undefined)?.[module.name]) ?? {};
    for (const key of moduleFields(module)) {
      if (service.enable !== true && key in written) {
        const path = [module.mount, module.name, key];
        problems.push({ loc: at(path), path: formatPath(path), message: `'${key}' is an option of the ${module.name} module, which is off: set ${module.mount}.${module.name}.enable: true to use it` });
      }
      delete service[key];
    }
  }
  return problems;
}

/** Fills in missing nested objects (`image:`, `users:`...) so their fields' defaults apply. */
function withObjects(node: Node, value: unknown): unknown {
  if (node.kind !== 'object' || typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  for (const [key, field] of Object.entries(node.fields)) {
    if (field.kind === 'object' && out[key] === undefined && field.default === undefined && !field.required) out[key] = {};
    if (out[key] !== undefined) out[key] = withObjects(field, out[key]);
  }
  return out;
}

function stripPriorities(value: unknown): unknown {
  const node = toDefNode(value, { file: '', line: 1, col: 1 });
  return plainValue(node);
}

function toProblem(p: MergeProblem): Problem {
  const via = p.loc.via ? ` (${p.loc.via})` : '';
  return { file: p.loc.file, line: p.loc.line, col: p.loc.col, path: p.path, message: `${p.message}${via && !p.message.includes(p.loc.via!) ? via : ''}` };
}

/** Grouped by file (first mention first), then by line and column within each file. */
function inFileOrder(problems: Problem[]): Problem[] {
  const order = new Map<string, number>();
  for (const p of problems) if (!order.has(p.file)) order.set(p.file, order.size);
  return problems
    .map((p, i) => ({ p, i }))
    .sort((a, b) => order.get(a.p.file)! - order.get(b.p.file)! || a.p.line - b.p.line || a.p.col - b.p.col || a.i - b.i)
    .map(({ p }) => p);
}
