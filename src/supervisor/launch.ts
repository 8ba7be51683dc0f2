// Turns a service into the exact program, arguments and environment to exec.
import type { Service } from '../manifest/index.js';
import type { ResolvedUser } from './users.js';

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface Launch {
  file: string;
  args: string[];
  env: Record<string, string>;
  cwd?: string;
}

/**
 * Node's uid/gid spawn options drop supplementary groups (libuv calls
 * setgroups(0)), so a service with a user is started through setpriv, which
 * sets all three before exec and reports a missing program as 127/126.
 */
export function buildLaunch(svc: Service, baseEnv: Record<string, string>, user?: ResolvedUser, setpriv?: string): Launch {
  const env = { ...baseEnv };
  env.PATH ??= DEFAULT_PATH;
  if (user?.name) {
    env.USER = env.LOGNAME = user.name;
    env.HOME = user.home ?? '/';
  }
  Object.assign(env, svc.environment);
  const [file, ...args] = svc.argv;
  if (!user) return { file, args, env, cwd: svc.workingDirectory };
  if (!setpriv) throw new Error('setpriv is required to run services as another user');
  const groups = user.groups.length ? ['--groups', user.groups.join(',')] : ['--clear-groups'];
  return {
    file: setpriv,
    args: ['--reuid', String(user.uid), '--regid', String(user.gid), ...groups, '--', file, ...args],
    env,
    cwd: svc.workingDirectory,
  };
}
