// `copy:` puts files and directories from beside a definition file into the
// image at any absolute path (environment.etc only reaches /etc). Declared
// here with its checks so options.ts only lists it; the sources are read now,
// with etc.ts's rules (inside the definition's directory, no links), so the
// build context is complete and the same inputs always give the same bytes.
import { formatPath } from '../manifest/locate.js';
import { oneOf, object, string, type Infer } from '../schema-language/schema.js';
import { type DefNode, type Loc, PRIORITY } from './definition.js';
import { readSource } from './etc.js';
import type { Def, Locations, MergeProblem } from './merge.js';
import type { UserOptions, GroupOptions } from './options.js';

const OWNER = /^[a-z_0-9][a-z0-9_-]*(:[a-z_0-9][a-z0-9_-]*)?$/;

export const copyEntrySchema = oneOf([
  string({ minLength: 1 }),
  object({
    source: string({ required: true, minLength: 1, description: 'A file or directory, relative to the definition file that names it and inside its directory (no `..` out of it, no symlinks).', example: './config.json' }),
    mode: string({ pattern: /^0?[0-7]{3}$/, patternHint: 'an octal mode like 0640', description: "File mode, octal, for a single file; default the file's own: 0644, or 0755 when executable.", example: '0640' }),
    owner: string({ pattern: OWNER, patternHint: 'a user, or user:group (names from users.users and users.groups, root, or numbers)', description: "Owner, `user` or `user:group`; the group defaults to the user's primary group. root when unset.", example: 'app' }),
  }, { title: 'Copied file' }),
], {
  description: 'The source alone (`./app`), or `{ source, mode, owner }`.',
});
export type CopyEntry = Infer<typeof copyEntrySchema>;

export const COPY_DESCRIPTION =
  'Files or directories from beside the definition file, by absolute target path in the image: `/app: ./app`. ' +
  'A directory is copied whole (files 0644, or 0755 when executable). Merged target by target; for one target, a later file (the importing one) wins over the files it imports.';

/** Where nothing may be copied: the root itself, and the kernel's file systems. */
const FORBIDDEN = ['/proc', '/sys', '/dev'];
/** Written by Berth itself. */
const RESERVED = new Set(['/etc/berth/manifest.json', '/etc/berth/accounts.json']);

export interface CopyItem { relative: string; content: Buffer; mode: number }

export interface CopyOutput {
  /** Absolute, normalised. */
  target: string;
  directory: boolean;
  /** A directory's files (relative to it, sorted), or one item with relative ''. */
  items: CopyItem[];
  /** `user:group` for COPY --chown, when not root. */
  owner?: string;
}

/**
 * For one target named in several files, the later file wins (its entry gets a slightly better
 * priority than plain); an explicit !force, !default or !override:N keeps its own.
 */
export function laterCopiesWin(defs: Def[]): Def[] {
  return defs.map((def, index) => {
    const root = def.node;
    if (root.kind !== 'map') return def;
    const entries = root.entries.map((entry) => {
      if (entry.key !== 'copy' || entry.value.kind !== 'map') return entry;
      const priority = PRIORITY.plain - (index + 1) / (defs.length + 1);
      const value: DefNode = { ...entry.value, entries: entry.value.entries.map((e) => (e.value.priority === undefined ? { ...e, value: { ...e.value, priority } } : e)) };
      return { ...entry, value };
    });
    return { ...def, node: { ...root, entries } };
  });
}

export function resolveCopy(
  copy: Record<string, CopyEntry>,
  locations: Locations,
  users: Record<string, UserOptions>,
  groups: Record<string, GroupOptions>,
): { files: CopyOutput[]; problems: MergeProblem[] } {
  const problems: MergeProblem[] = [];
  const files: CopyOutput[] = [];
  for (const target of Object.keys(copy).sort()) {
    const entry = typeof copy[target] === 'string' ? { source: copy[target] as string } : (copy[target] as Exclude<CopyEntry, string>);
    const fields = (field?: string) => ['copy', target, ...(typeof copy[target] === 'string' || !field ? [] : [field])];
    const where = (field?: string, at?: 'key') => ({
      loc: locations.locate({ path: fields(field), ...(at ? { at } : {}) }) ?? { file: '?', line: 1, col: 1 },
      path: formatPath(fields(field)),
    });
    const fail = (field: string | undefined, message: string, at?: 'key') => problems.push({ ...where(field, at), message });

    const targetError = checkTarget(target);
    if (targetError) { fail(undefined, targetError, 'key'); continue; }
    let owner: string | undefined;
    if (entry.owner !== undefined) {
      const found = resolveOwner(entry.owner, users, groups);
      if ('error' in found) { fail('owner', found.error); continue; }
      owner = found.owner;
    }
    const definedIn: Loc | undefined = locations.locate({ path: fields('source') });
    const read = readSource(entry.source, definedIn, (m) => fail('source', m));
    if (!read) continue;
    const directory = read.length !== 1 || read[0].relative !== '';
    const mode = entry.mode === undefined ? undefined : parseInt(entry.mode, 8);
    if (directory && mode !== undefined) {
      fail('mode', "'mode' applies to a single file; a directory's files keep their own (0644, or 0755 when executable): remove it, or name the file as its own target");
      continue;
    }
    const items = read.map((item) => ({ relative: item.relative, content: item.content, mode: mode ?? (item.executable ? 0o755 : 0o644) }));
    files.push({ target, directory, items, ...(owner && owner !== 'root:root' ? { owner } : {}) });
  }
  // A file where another target needs a directory.
  const fileTargets = new Set(files.filter((f) => !f.directory).map((f) => f.target));
  for (const file of files) {
    const parts = file.target.split('/');
    for (let i = 2; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      if (fileTargets.has(parent)) problems.push({ ...locate(locations, file.target), message: `${parent} is a file, but ${file.target} needs it to be a directory; copy a directory there, or move one target` });
    }
  }
  return { files, problems };
}

function locate(locations: Locations, target: string) {
  return { loc: locations.locate({ path: ['copy', target], at: 'key' }) ?? { file: '?', line: 1, col: 1 }, path: formatPath(['copy', target]) };
}

/** A message when `target` is not an absolute, safe, allowed path. */
export function checkTarget(target: string): string | undefined {
  if (!target.startsWith('/')) return `target '${target}' must be an absolute path in the image (like /app)`;
  if (!/^\/[A-Za-z0-9._\/@+-]*$/.test(target)) return `target '${target}' may only use letters, digits and . _ / @ + - (no spaces, quotes or '$'); rename it`;
  const parts = target.slice(1).split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..')) {
    return target === '/' ? "target '/' would replace the whole file system; name a directory like /app" : `target '${target}' has an empty, '.' or '..' path segment; write it plainly (like /app/config.json)`;
  }
  const under = FORBIDDEN.find((dir) => target === dir || target.startsWith(`${dir}/`));
  if (under) return `target '${target}' is under ${under}, which the kernel provides at run time; copy it elsewhere (like /app)`;
  if (RESERVED.has(target)) return `${target} is written by Berth itself; choose another target`;
  return undefined;
}

/** `user` or `user:group` as `user:group`, with names the image will have. */
function resolveOwner(raw: string, users: Record<string, UserOptions>, groups: Record<string, GroupOptions>): { owner: string } | { error: string } {
  const [user, group] = raw.split(':');
  const primary = (name: string): string | undefined => {
    if (name === 'root') return 'root';
    if (/^\d+$/.test(name)) return name;
    const u = Object.hasOwn(users, name) ? users[name] : undefined;
    if (!u) return undefined;
    return u.group ?? (u.isNormalUser ? 'users' : name);
  };
  const userGroup = primary(user);
  if (userGroup === undefined) return { error: `unknown user '${user}'; declare it in users.users, or use root or a uid` };
  if (group === undefined) return { owner: `${user}:${userGroup}` };
  const knownGroups = new Set(['root', 'users', ...Object.keys(groups)]);
  for (const [name, u] of Object.entries(users)) {
    knownGroups.add(u.group ?? (u.isNormalUser ? 'users' : name));
    for (const g of u.extraGroups ?? []) knownGroups.add(g);
  }
  if (!knownGroups.has(group) && !/^\d+$/.test(group)) return { error: `unknown group '${group}'; declare it in users.groups, or use root or a gid` };
  return { owner: `${user}:${group}` };
}
