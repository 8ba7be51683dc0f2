// The init's configuration stage, before anything starts: every service's
// environment (env files, secret files) resolved, the secrets handed to the
// redactor, and `files:` rendered in memory. Nothing is written here: the
// files are written once the state dir is the init's.
import type { Manifest, Service } from '../manifest/index.js';
import { resolveEnvironment, type ResolvedEnvironment } from './environment.js';
import { keepSecret } from './redact.js';
import { renderFiles, type Rendered } from './rendered-files.js';

export function configure(manifest: Manifest, services: Service[]): { environment: ResolvedEnvironment; rendered: Rendered[] } | { problems: string[] } {
  const resolved = resolveEnvironment(manifest, services, process.env);
  keepSecret(resolved.env.secrets);
  const files = renderFiles(manifest.files, resolved.env.base);
  const problems = [...resolved.problems, ...('problems' in files ? files.problems : [])];
  if (problems.length || 'problems' in files) return { problems };
  return { environment: resolved.env, rendered: files.rendered };
}
