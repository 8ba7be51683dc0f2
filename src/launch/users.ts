// Resolves `user:` from the image's /etc/passwd and /etc/group, so a service
// runs with the same uid, gid and supplementary groups a login would give it.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export interface ResolvedUser {
  uid: number;
  gid: number;
  groups: number[]; // supplementary groups, as initgroups() would set them
  name?: string;
  home?: string;
}

interface PasswdEntry { name: string; uid: number; gid: number; home: string }
interface GroupEntry { name: string; gid: number; members: string[] }

function readTable(file: string): string[][] {
  let text: string;
  try {
    // a regular file only: reading a FIFO would block PID 1 until a writer came
    if (!statSync(file).isFile()) return [];
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split(':'));
}

export class UserDatabase {
  private readonly passwd: PasswdEntry[];
  private readonly groups: GroupEntry[];

  constructor(etcDir = '/etc') {
    this.passwd = readTable(join(etcDir, 'passwd')).map((f) => ({ name: f[0], uid: Number(f[2]), gid: Number(f[3]), home: f[5] ?? '/' }));
    this.groups = readTable(join(etcDir, 'group')).map((f) => ({
      name: f[0],
      gid: Number(f[2]),
      members: (f[3] ?? '').split(',').filter(Boolean),
    }));
  }

  /** `name`, `uid`, or either followed by `:group`; throws a message fit for the log when it names nobody. */
  resolve(spec: string): ResolvedUser {
    const [userPart, groupPart] = spec.split(':', 2);
    const entry = /^\d+$/.test(userPart) ? this.passwd.find((p) => p.uid === Number(userPart)) : this.passwd.find((p) => p.name === userPart);
    if (!entry && !/^\d+$/.test(userPart)) throw new Error(`unknown user '${userPart}': not in /etc/passwd`);
    const uid = entry ? entry.uid : Number(userPart);
    let gid = entry ? entry.gid : uid;
    if (groupPart !== undefined) gid = this.groupId(groupPart);
    const groups = new Set<number>([gid]);
    if (entry) for (const g of this.groups) if (g.members.includes(entry.name)) groups.add(g.gid);
    return { uid, gid, groups: [...groups], name: entry?.name, home: entry?.home };
  }

  private groupId(spec: string): number {
    if (/^\d+$/.test(spec)) return Number(spec);
    const g = this.groups.find((x) => x.name === spec);
    if (!g) throw new Error(`unknown group '${spec}': not in /etc/group`);
    return g.gid;
  }
}
