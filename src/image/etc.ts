// Resolves `environment.etc` into the files the image gets: targets kept
// inside /etc, sources kept inside the directory of the definition that
// names them (no `..`, no symlinks out), contents read now so the build
// context is complete and the output deterministic.
import { lstatSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { formatPath } from '../manifest/locate.js';
import type { Loc } from './definition.js';
import type { Locations, MergeProblem } from './merge.js';
import type { EtcFile } from './options.js';

export interface EtcOutput {
  /** Relative to /etc, '/'-separated, normalised. */
  target: string;
  content: Buffer;
  mode: number;
  /** chown spec (`user:group`, numbers allowed) when not root:root. */
  owner?: string;
}

/** Paths Berth itself writes under /etc. */
export const RESERVED = new Set(['berth/manifest.json', 'berth/accounts.json']);

export function resolveEtc(etc: Record<string, EtcFile>, locations: Locations): { files: EtcOutput[]; problems: MergeProblem[] } {
  const problems: MergeProblem[] = [];
  const files: (EtcOutput & { loc: { loc: Loc; path: string } })[] = [];
  for (const [name, entry] of Object.entries(etc)) {
    if (!entry.enable) continue;
    const path = (...rest: string[]) => ['environment', 'etc', name, ...rest];
    const where = (field?: string) => ({
      loc: locations.locate({ path: field ? path(field) : path() }) ?? { file: '?', line: 1, col: 1 },
      path: formatEtcPath(name, field),
    });
    const fail = (field: string | undefined, message: string) => problems.push({ ...where(field), message });
    const loc = where();
    const target = normaliseTarget(entry.target ?? name);
    if ('error' in target) {
      fail(entry.target === undefined ? undefined : 'target', target.error);
      continue;
    }
    if (RESERVED.has(target.path)) {
      fail(entry.target === undefined ? undefined : 'target', `/etc/${target.path} is written by Berth itself; choose another target`);
      continue;
    }
    if ((entry.text === undefined) === (entry.source === undefined)) {
      fail(undefined, entry.text === undefined ? "give the file's contents: 'text' or 'source'" : "both 'text' and 'source' are set; keep one");
      continue;
    }
    if (entry.user !== undefined && entry.uid !== undefined) { fail('uid', "both 'user' and 'uid' are set; keep one"); continue; }
    if (entry.group !== undefined && entry.gid !== undefined) { fail('gid', "both 'group' and 'gid' are set; keep one"); continue; }
    const user = entry.user ?? (entry.uid === undefined ? undefined : String(entry.uid));
    const group = entry.group ?? (entry.gid === undefined ? undefined : String(entry.gid));
    const owner = user === undefined && group === undefined ? undefined : `${user ?? 'root'}:${group ?? 'root'}`;
    const mode = entry.mode === undefined ? undefined : parseInt(entry.mode, 8);

    if (entry.text !== undefined) {
      files.push({ target: target.path, content: Buffer.from(entry.text, 'utf8'), mode: mode ?? 0o644, ...(owner ? { owner } : {}), loc });
    } else {
      const definedIn = locations.locate({ path: path('source') });
      const copied = readSource(entry.source!, definedIn, (m) => fail('source', m));
      if (!copied) continue;
      if (copied.length > 1 || copied[0].relative !== '') {
        if (mode !== undefined) { fail('mode', "'mode' applies to a single file; a directory's files keep their own (0644, or 0755 when executable)"); continue; }
      }
      for (const item of copied) {
        const itemTarget = item.relative ? `${target.path}/${item.relative}` : target.path;
        files.push({ target: itemTarget, content: item.content, mode: mode ?? (item.executable ? 0o755 : 0o644), ...(owner ? { owner } : {}), loc });
      }
    }
  }
  // Two entries writing one path, or a file where another entry needs a directory.
  const byTarget = new Map(files.map((f) => [f.target, f]));
  const seen = new Set<string>();
  for (const file of files) {
    const at = file.loc;
    if (seen.has(file.target)) problems.push({ ...at, message: `/etc/${file.target} is written twice (also by another entry); keep one` });
    seen.add(file.target);
    const parts = file.target.split('/');
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      if (byTarget.has(parent)) problems.push({ ...at, message: `/etc/${parent} is a file, but /etc/${file.target} needs it to be a directory` });
    }
  }
  files.sort((a, b) => (a.target < b.target ? -1 : a.target > b.target ? 1 : 0));
  return { files: files.map(({ loc: _loc, ...f }) => f), problems };
}

function formatEtcPath(name: string, field?: string): string {
  return formatPath(['environment', 'etc', name, ...(field ? [field] : [])]);
}

/** `nginx/nginx.conf`: relative, no `.`/`..`/empty segments, printable. */
export function normaliseTarget(raw: string): { path: string } | { error: string } {
  let text = raw;
  if (text.startsWith('/etc/')) text = text.slice('/etc/'.length);
  else if (text.startsWith('/')) return { error: `target '${raw}' must be a path inside /etc, relative to it (like nginx/nginx.conf)` };
  if (/[\0-\x1f\x7f\\]/.test(text)) return { error: 'a target may not contain control characters or backslashes' };
  const parts = text.split('/');
  if (parts.some((p) => p === '..')) return { error: `target '${raw}' leaves /etc ('..' is not allowed)` };
  if (parts.some((p) => p === '' || p === '.')) return { error: `target '${raw}' has an empty or '.' path segment` };
  return { path: parts.join('/') };
}

export interface SourceItem { relative: string; content: Buffer; executable: boolean }

/** A file, or every file of a directory (sorted, for deterministic output). */
export function readSource(source: string, definedIn: Loc | undefined, fail: (message: string) => void): SourceItem[] | undefined {
  if (!definedIn || definedIn.via) {
    fail("a 'source' must be written in a definition file (modules use 'text')");
    return undefined;
  }
  const base = dirname(resolve(definedIn.file));
  const full = resolve(base, source);
  let realBase: string;
  let realFull: string;
  try {
    realBase = realpathSync(base);
    realFull = realpathSync(full);
  } catch {
    fail(`no such file or directory: ${full}`);
    return undefined;
  }
  if (!inside(realBase, realFull) || !inside(base, full)) {
    fail(`'${source}' is outside ${base}, the directory of the file that names it; sources must stay inside it (no '..', no absolute paths elsewhere, no symlinks out)`);
    return undefined;
  }
  if (lstatSync(full).isSymbolicLink()) {
    fail(`'${source}' is a symbolic link; name the file itself`);
    return undefined;
  }
  const items: SourceItem[] = [];
  const walk = (path: string, rel: string): boolean => {
    const info = lstatSync(path);
    if (info.isSymbolicLink()) { fail(`${path} is a symbolic link; sources may not contain links`); return false; }
    if (info.isFile()) {
      items.push({ relative: rel, content: readFileSync(path), executable: (info.mode & 0o111) !== 0 });
      return true;
    }
    if (info.isDirectory()) {
      for (const name of readdirSync(path).sort()) {
        if (!walk(`${path}/${name}`, rel ? `${rel}/${name}` : name)) return false;
      }
      return true;
    }
    fail(`${path} is neither a file nor a directory`);
    return false;
  };
  return walk(full, '') ? items : undefined;
}

function inside(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}
