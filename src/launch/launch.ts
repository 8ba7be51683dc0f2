// Turns a service into the exact program, arguments, environment and user to exec.
import type { Service } from '../manifest/index.js';
import type { ResolvedUser } from './users.js';

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface Launch {
  file: string;
  args: string[];
  env: Record<string, string>;
  cwd?: string;
  /** the user to switch to before exec: uid, gid and every supplementary group */
  user?: ResolvedUser;
  /** setpriv's path: only a service with a terminal (node-pty spawns it) needs it, to switch users */
  setpriv?: string;
}

/**
 * The user switch itself happens in the spawn (src/pid1's addon: setgroups,
 * setresgid, setresuid, then the parent-death signal), not through an exec of
 * setpriv; Node's own uid/gid options would drop the supplementary groups.
 */
export function buildLaunch(svc: Service, baseEnv: Record<string, string>, user?: ResolvedUser, setpriv?: string, own?: ServiceEnvironment): Launch {
  const [file, ...args] = svc.argv;
  return { file, args, env: environmentOf(svc, baseEnv, user, own), cwd: svc.workingDirectory, user, setpriv };
}

/** What a service's own files add to its environment: its dotenv files' variables (under its `environment`), its secrets (over it). */
export interface ServiceEnvironment {
  files: Record<string, string>;
  secrets: Record<string, string>;
}

/** The environment shared (frozen) by every service that adds nothing to the init's: 1,000 services, one object. */
const plainEnv = new WeakMap<Record<string, string>, Record<string, string>>();

function environmentOf(svc: Service, baseEnv: Record<string, string>, user?: ResolvedUser, own?: ServiceEnvironment): Record<string, string> {
  const plain = !user?.name && !own && Object.keys(svc.environment).length === 0;
  const known = plain ? plainEnv.get(baseEnv) : undefined;
  if (known) return known;
  const env = { ...baseEnv };
  env.PATH ??= DEFAULT_PATH;
  if (user?.name) {
    env.USER = env.LOGNAME = user.name;
    env.HOME = user.home ?? '/';
  }
  if (own) Object.assign(env, own.files);
  Object.assign(env, svc.environment);
  if (own) Object.assign(env, own.secrets);
  if (plain) plainEnv.set(baseEnv, Object.freeze(env));
  return env;
}
