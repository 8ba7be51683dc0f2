// Accounts: `users.users`/`users.groups` become a spec (accounts.json) at
// build time, and `berth apply-accounts` merges that spec into the image's
// /etc/passwd, /etc/group and /etc/shadow while the image is built — so the
// accounts of the parent image are kept and new ids avoid the ones it uses.
import { chownSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GroupOptions, UserOptions } from './options.js';

export interface GroupSpec {
  name: string;
  gid?: number;
  /** Allocated below 1000 when true, from 1000 otherwise. */
  system: boolean;
  members: string[];
}

export interface UserSpec {
  name: string;
  uid?: number;
  system: boolean;
  group: string;
  extraGroups: string[];
  home: string;
  createHome: boolean;
  shell: string;
  description: string;
}

export interface AccountsSpec { version: 1; groups: GroupSpec[]; users: UserSpec[] }

const byName = <T extends { name: string }>(a: T, b: T) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** The spec, fully defaulted, in name order; `problems` are messages keyed by option path. */
export function accountsSpec(users: Record<string, UserOptions>, groups: Record<string, GroupOptions>): { spec: AccountsSpec; problems: { path: (string | number)[]; message: string }[] } {
  const problems: { path: (string | number)[]; message: string }[] = [];
  const userSpecs: UserSpec[] = [];
  for (const [name, u] of Object.entries(users)) {
    if (u.isNormalUser === u.isSystemUser) {
      problems.push({ path: ['users', 'users', name], message: `set exactly one of isNormalUser and isSystemUser for user '${name}'` });
      continue;
    }
    const normal = u.isNormalUser;
    userSpecs.push({
      name,
      ...(u.uid === undefined ? {} : { uid: u.uid }),
      system: !normal,
      group: u.group ?? (normal ? 'users' : name),
      extraGroups: [...new Set(u.extraGroups ?? [])].sort(),
      home: u.home ?? (normal ? `/home/${name}` : '/nonexistent'),
      createHome: u.createHome ?? normal,
      shell: u.shell ?? (normal ? '/bin/bash' : '/usr/sbin/nologin'),
      description: u.description ?? '',
    });
  }
  // Every group a user names exists afterwards: declared ones, and the rest created if the parent image lacks them.
  const groupSpecs = new Map<string, GroupSpec>();
  for (const [name, g] of Object.entries(groups)) {
    groupSpecs.set(name, { name, ...(g.gid === undefined ? {} : { gid: g.gid }), system: true, members: [...new Set(g.members ?? [])].sort() });
  }
  for (const u of userSpecs) {
    for (const name of [u.group, ...u.extraGroups]) {
      if (!groupSpecs.has(name)) groupSpecs.set(name, { name, system: true, members: [] });
      // A group used by a person is a normal group (gid from 1000); one used only by daemons is a system group.
      if (!u.system) groupSpecs.get(name)!.system = false;
    }
  }
  for (const g of groupSpecs.values()) {
    for (const member of g.members) {
      if (!users[member]) continue; // may be an account of the parent image
      if (!users[member].isSystemUser) g.system = false;
    }
  }
  return { spec: { version: 1, groups: [...groupSpecs.values()].sort(byName), users: userSpecs.sort(byName) }, problems };
}

export interface ApplyResult { created: string[]; kept: string[] }

/** Allocation ranges: people from 1000 up, daemons from 999 down (as NixOS does). */
const FIRST_NORMAL = 1000;
const LAST_NORMAL = 59999;
const LAST_SYSTEM = 999;
const FIRST_SYSTEM = 100;

/**
 * Merges the spec into ROOT/etc/{passwd,group,shadow,gshadow}: existing
 * entries are never changed (except that new members join existing groups),
 * new ones get free ids, homes are created. Throws with a message on a
 * conflict that cannot be resolved (a fixed id that is taken).
 */
export function applyAccounts(spec: AccountsSpec, root: string): ApplyResult {
  const etc = join(root, 'etc');
  const passwd = readTable(join(etc, 'passwd'));
  const group = readTable(join(etc, 'group'));
  const shadow = readTable(join(etc, 'shadow'));
  const gshadowPath = join(etc, 'gshadow');
  const gshadow = existsSync(gshadowPath) ? readTable(gshadowPath) : undefined;
  const result: ApplyResult = { created: [], kept: [] };

  const usedGids = new Set(group.map((f) => Number(f[2])));
  const usedUids = new Set(passwd.map((f) => Number(f[2])));
  const allocate = (used: Set<number>, system: boolean, what: string): number => {
    if (system) {
      for (let id = LAST_SYSTEM; id >= FIRST_SYSTEM; id--) if (!used.has(id)) return id;
    } else {
      for (let id = FIRST_NORMAL; id <= LAST_NORMAL; id++) if (!used.has(id)) return id;
    }
    throw new Error(`no free ${what} id left in the ${system ? 'system' : 'normal'} range`);
  };

  for (const g of spec.groups) {
    const existing = group.find((f) => f[0] === g.name);
    if (existing) {
      if (g.gid !== undefined && Number(existing[2]) !== g.gid) {
        throw new Error(`group ${g.name} already exists with gid ${existing[2]}, not ${g.gid}; drop the gid or pick the existing one`);
      }
      result.kept.push(`group ${g.name}`);
      continue;
    }
    if (g.gid !== undefined && usedGids.has(g.gid)) {
      const owner = group.find((f) => Number(f[2]) === g.gid)?.[0];
      throw new Error(`gid ${g.gid} for group ${g.name} is already used by group ${owner}`);
    }
    const gid = g.gid ?? allocate(usedGids, g.system, 'group');
    usedGids.add(gid);
    group.push([g.name, 'x', String(gid), '']);
    gshadow?.push([g.name, '!', '', '']);
    result.created.push(`group ${g.name} (gid ${gid})`);
  }

  for (const u of spec.users) {
    if (passwd.some((f) => f[0] === u.name)) {
      result.kept.push(`user ${u.name}`);
    } else {
      if (u.uid !== undefined && usedUids.has(u.uid)) {
        const owner = passwd.find((f) => Number(f[2]) === u.uid)?.[0];
        throw new Error(`uid ${u.uid} for user ${u.name} is already used by user ${owner}`);
      }
      const primary = group.find((f) => f[0] === u.group);
      if (!primary) throw new Error(`user ${u.name}: primary group ${u.group} does not exist`);
      const uid = u.uid ?? allocate(usedUids, u.system, 'user');
      usedUids.add(uid);
      const gid = Number(primary[2]);
      passwd.push([u.name, 'x', String(uid), String(gid), u.description, u.home, u.shell]);
      shadow.push([u.name, '!', '', '', '', '', '', '', '']);
      result.created.push(`user ${u.name} (uid ${uid})`);
      if (u.createHome) makeHome(root, u.home, uid, gid);
    }
    for (const name of u.extraGroups) addMember(group, gshadow, name, u.name);
  }
  for (const g of spec.groups) for (const member of g.members) addMember(group, gshadow, g.name, member);

  writeTable(join(etc, 'group'), group, 0o644);
  if (gshadow) writeTable(gshadowPath, gshadow, 0o640);
  writeTable(join(etc, 'passwd'), passwd, 0o644);
  writeTable(join(etc, 'shadow'), shadow, 0o640);
  return result;
}

function addMember(group: string[][], gshadow: string[][] | undefined, groupName: string, user: string): void {
  for (const table of [group, gshadow]) {
    const entry = table?.find((f) => f[0] === groupName);
    if (!entry) continue;
    const members = (entry[3] ?? '').split(',').filter(Boolean);
    if (!members.includes(user)) entry[3] = [...members, user].join(',');
  }
}

function makeHome(root: string, home: string, uid: number, gid: number): void {
  const dir = join(root, home);
  if (existsSync(dir)) return;
  mkdirSync(join(dir, '..'), { recursive: true, mode: 0o755 });
  mkdirSync(dir, { mode: 0o700 });
  const skel = join(root, 'etc', 'skel');
  if (existsSync(skel)) {
    for (const name of readdirSync(skel)) {
      const from = join(skel, name);
      if (statSync(from).isFile()) {
        copyFileSync(from, join(dir, name));
        chownQuietly(join(dir, name), uid, gid);
      }
    }
  }
  chownQuietly(dir, uid, gid);
}

/** Only root may chown; a test run as another user still gets the files. */
function chownQuietly(path: string, uid: number, gid: number): void {
  try {
    chownSync(path, uid, gid);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') throw error;
  }
}

function readTable(file: string): string[][] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter((line) => line !== '').map((line) => line.split(':'));
}

/** Rewrites in place, so an existing file keeps its mode and owner (shadow stays root:shadow 0640). */
function writeTable(file: string, rows: string[][], mode: number): void {
  const text = rows.map((r) => r.join(':')).join('\n') + (rows.length ? '\n' : '');
  if (existsSync(file)) writeFileSync(file, text);
  else writeFileSync(file, text, { mode });
}
