// The secret files an image's services read at run time: a service's
// `environmentFromFiles` and `FILE__NAME` in image.env. `berth build --kube`
// mounts them from a Kubernetes Secret; the build refuses a definition that
// would put a secret's value into a layer instead (a file copied to a secret's
// path, or the secret variable given a value in the definition).
import { posix } from 'node:path';
import { formatPath } from '../manifest/locate.js';
import type { ImageConfig } from './options.js';
import type { CopyOutput } from './copy.js';
import type { EtcOutput } from './etc.js';
import type { Loc } from './definition.js';
import type { MergeProblem } from './merge.js';

export interface SecretFile {
  /** Where the init reads it: absolute, normalised. */
  path: string;
  /** Its key in the Kubernetes Secret: the file's name. */
  key: string;
  /** The variable it sets. */
  variable: string;
  /** The option that declares it, as a path into the definition. */
  declaredAt: (string | number)[];
}

const FILE_PREFIX = 'FILE__';
/** What Kubernetes accepts as a Secret's key. */
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;

/** Every secret file the services read, in definition order, one entry per path. */
export function secretFiles(config: ImageConfig): SecretFile[] {
  const byPath = new Map<string, SecretFile>();
  const add = (raw: string, variable: string, declaredAt: (string | number)[]) => {
    if (!raw.startsWith('/')) return; // the manifest's checks refuse a relative path
    const path = posix.normalize(raw);
    if (!byPath.has(path)) byPath.set(path, { path, key: posix.basename(path), variable, declaredAt });
  };
  for (const [name, value] of Object.entries(config.image.env)) {
    if (name.startsWith(FILE_PREFIX) && name.length > FILE_PREFIX.length) add(value, name.slice(FILE_PREFIX.length), ['image', 'env', name]);
  }
  for (const [service, svc] of Object.entries(config.services)) {
    const fromFiles = (svc as { environmentFromFiles?: Record<string, string> }).environmentFromFiles ?? {};
    for (const [variable, path] of Object.entries(fromFiles)) add(path, variable, ['services', service, 'environmentFromFiles', variable]);
  }
  return [...byPath.values()];
}

/** Every file the image's layers hold from the definition (`environment.etc`, `copy`), by absolute path, with the option that puts it there. */
export function imageFiles(image: { etc: EtcOutput[]; copy: CopyOutput[] }): Map<string, string> {
  const files = new Map<string, string>();
  for (const f of image.etc) files.set(posix.join('/etc', f.target), 'environment.etc');
  for (const c of image.copy) for (const item of c.items) files.set(posix.join(c.target, item.relative), `copy ${c.target}`);
  return files;
}

/** The Kubernetes Secret an image's secret files come from: `NAME-secrets`. */
export function secretName(label: string): string {
  return `${label.slice(0, 63 - '-secrets'.length).replace(/-+$/, '')}-secrets`;
}

/**
 * What would put a secret's value into the image, and secret files the
 * Secret cannot hold apart (two with the same file name in different
 * directories), each at the option that declares it.
 */
export function secretProblems(
  secrets: SecretFile[],
  config: ImageConfig,
  image: { etc: EtcOutput[]; copy: CopyOutput[] },
  at: (path: (string | number)[]) => Loc,
): MergeProblem[] {
  const problems: MergeProblem[] = [];
  const problem = (path: (string | number)[], message: string) => problems.push({ loc: at(path), path: formatPath(path), message });
  const written = imageFiles(image);
  for (const rendered of Object.keys(config.files ?? {})) written.set(posix.normalize(rendered), 'files');

  const keys = new Map<string, SecretFile>();
  const volumes = new Set(['/run', '/tmp', ...config.image.volumes.map((v) => posix.normalize(v))]);
  for (const s of secrets) {
    const dir = posix.dirname(s.path);
    if (!SECRET_KEY.test(s.key)) problem(s.declaredAt, `the secret file's name ${JSON.stringify(s.key)} cannot be a Kubernetes Secret key (letters, digits, '-', '_', '.'); rename the file`);
    // --kube mounts the Secret over the file's directory: it must be one of its own
    if (dir === '/' || volumes.has(dir)) {
      problem(s.declaredAt, `${s.path} is a secret file directly in ${dir}, which the container needs writable; put secret files in a directory of their own, such as /run/secrets`);
    } else {
      const hidden = [...written.keys()].find((p) => p !== s.path && p.startsWith(`${dir}/`));
      if (hidden) {
        problem(s.declaredAt, `${s.path} is a secret file in ${dir}, where the image also has ${hidden} (${written.get(hidden)}): the Secret mounted there would hide it; put secret files in a directory of their own, such as /run/secrets`);
      }
    }
    const by = written.get(s.path);
    if (by) {
      problem(s.declaredAt, `${s.variable} is read from the secret file ${s.path}, and ${by} ${by === 'files' ? 'renders a file' : 'puts a file into the image'} there: ` +
        'a secret is mounted when the container runs (berth build --kube mounts it from a Secret), never built in; remove that file from the definition');
    }
    const other = keys.get(s.key);
    if (other) {
      problem(s.declaredAt, `the secret files ${other.path} and ${s.path} have the same name, so one Kubernetes Secret cannot hold both (a key is a file name); rename one of them`);
    } else keys.set(s.key, s);
  }

  // FILE__NAME in image.env sets NAME for every service
  const everywhere = new Set(secrets.filter((s) => s.declaredAt[0] === 'image').map((s) => s.variable));
  for (const name of Object.keys(config.image.env)) {
    if (secrets.some((s) => s.variable === name)) {
      problem(['image', 'env', name], `${name} is a secret read from a file, so a value here would be built into the image; leave it to the secret file`);
    }
  }
  for (const [service, svc] of Object.entries(config.services)) {
    const environment = (svc as { environment?: Record<string, unknown> }).environment ?? {};
    const own = new Set(Object.keys((svc as { environmentFromFiles?: Record<string, string> }).environmentFromFiles ?? {}));
    for (const name of Object.keys(environment)) {
      if (own.has(name) || everywhere.has(name)) {
        problem(['services', service, 'environment', name], `${name} is a secret read from a file, so a value here would be built into the image; leave it to the secret file`);
      }
    }
  }
  return problems;
}
