// What each service's environment is made of, read once before anything
// starts (and again at a reload), lowest first: the top level's dotenv
// files, the init's own environment (with each FILE__NAME=/path turned into
// NAME, the file's content), the service's dotenv files, its `environment`,
// and its `environmentFromFiles`. Values read from secret files are
// collected, so the init's lines and answers can keep them out.
import type { Manifest, Service } from '../manifest/index.js';
import { readEnvFile, readSecretFile, secretsFromEnv } from './env-file.js';

export interface ResolvedEnvironment {
  /** what every service starts from */
  base: Record<string, string>;
  /** per service, what it adds over `base` before its own `environment` (its dotenv files) and after it (its secrets) */
  perService: Map<string, { files: Record<string, string>; secrets: Record<string, string> }>;
  /** every value that came from a secret file */
  secrets: string[];
}

/**
 * Reads every file the manifest names; every problem, not just the first, names the field, the file and why. With
 * problems the environment is what could be read (for the files' own checks), and nothing may start.
 */
export function resolveEnvironment(manifest: Manifest, services: Service[], initEnv: NodeJS.ProcessEnv): { env: ResolvedEnvironment; problems: string[] } {
  const problems: string[] = [];
  const secrets: string[] = [];
  const base: Record<string, string> = {};
  // a file several services name is read once
  const envFiles = new Map<string, ReturnType<typeof readEnvFile>>();
  const secretFiles = new Map<string, ReturnType<typeof readSecretFile>>();
  const readEnv = (path: string) => envFiles.get(path) ?? envFiles.set(path, readEnvFile(path)).get(path)!;
  for (const [key, value] of Object.entries(readFiles('environmentFiles', manifest.environmentFiles, problems, readEnv))) base[key] = value;
  const fromFiles = secretsFromEnv(initEnv);
  if (!fromFiles.ok) problems.push(...fromFiles.problems);
  const consumed = new Set(fromFiles.ok ? fromFiles.from : []);
  for (const [key, value] of Object.entries(initEnv)) if (value !== undefined && !consumed.has(key)) base[key] = value;
  if (fromFiles.ok) {
    Object.assign(base, fromFiles.vars);
    secrets.push(...Object.values(fromFiles.vars));
  }
  const perService = new Map<string, { files: Record<string, string>; secrets: Record<string, string> }>();
  for (const svc of services) {
    if (!svc.environmentFiles.length && !Object.keys(svc.environmentFromFiles).length) continue;
    const files = readFiles(`services.${svc.name}.environmentFiles`, svc.environmentFiles, problems, readEnv);
    const own: Record<string, string> = {};
    for (const [name, path] of Object.entries(svc.environmentFromFiles)) {
      const read = secretFiles.get(path) ?? secretFiles.set(path, readSecretFile(path)).get(path)!;
      if (read.ok) {
        own[name] = read.value;
        secrets.push(read.value);
      } else problems.push(`services.${svc.name}.environmentFromFiles.${name}: ${read.error}`);
    }
    perService.set(svc.name, { files, secrets: own });
  }
  return { env: { base, perService, secrets }, problems };
}

/** The variables of `files` in order (a later file wins); a missing optional one is skipped. */
function readFiles(field: string, files: Manifest['environmentFiles'], problems: string[], readEnv: typeof readEnvFile): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const file of files) {
    const read = readEnv(file.path);
    if (read.ok) Object.assign(vars, read.vars);
    else if (!(file.optional && read.error.startsWith(`${file.path}: ENOENT`))) problems.push(`${field}: ${read.error}${file.optional ? '' : `; if it may be missing, write the path as -${file.path}`}`);
  }
  return vars;
}
