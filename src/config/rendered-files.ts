// The manifest's `files:`: each template rendered over the services' base
// environment, then written atomically (a temp file beside it, its mode and
// owner set before any content is in it, then renamed over), so no process
// ever reads half a file or a secret under a wider mode. A file whose
// content and mode are already what they would be is left alone: a reload
// that changes nothing wakes no watcher.
import { mkdirSync } from 'node:fs';
import type { Manifest } from '../manifest/index.js';
import { readTextFile } from '../manifest/read-text.js';
import { writeFileAtomically } from '../native/files.js';
import { renderTemplate } from './template.js';

/** A template file is read whole: a wrong `source:` pointing at something huge is refused, not read. */
const MAX_SOURCE_BYTES = 1024 * 1024;

export interface Rendered {
  path: string;
  text: string;
  mode: number;
  owner?: string;
  group?: string;
}

/** Every file rendered, or every problem: a `${VAR:?}` unset names the file, its line and the variable. */
export function renderFiles(files: Manifest['files'], env: Record<string, string>): { rendered: Rendered[] } | { problems: string[] } {
  const rendered: Rendered[] = [];
  const problems: string[] = [];
  for (const [path, spec] of Object.entries(files)) {
    let text: string;
    if ('text' in spec.template) text = spec.template.text;
    else {
      const source = readSource(spec.template.source);
      if (typeof source !== 'string') {
        problems.push(`files.${path}: source ${spec.template.source}: ${source.error}`);
        continue;
      }
      text = source;
    }
    const out = renderTemplate(text, env);
    if (!out.ok) {
      const where = 'source' in spec.template ? `${spec.template.source}, ` : '';
      for (const p of out.problems) problems.push(`files.${path}: ${where}line ${p.line}: \${${p.variable}:?}: ${p.message}`);
      continue;
    }
    rendered.push({ path, text: out.text, mode: spec.mode, ...(spec.owner ? { owner: spec.owner } : {}), ...(spec.group ? { group: spec.group } : {}) });
  }
  return problems.length ? { problems } : { rendered };
}

/** Through the manifest's reader: bounded, and a FIFO or device in the way is refused, never a blocked open. */
function readSource(path: string): string | { error: string } {
  const read = readTextFile(path, { what: 'template', maxBytes: MAX_SOURCE_BYTES });
  return 'text' in read ? read.text : { error: read.problem };
}

/**
 * Writes each file that differs from what is on disk; returns the paths written and every problem. `ids` turns an
 * owner and group into a uid and gid (or says why it cannot).
 */
export function writeFiles(rendered: Rendered[], ids: (owner: string | undefined, group: string | undefined) => { uid: number; gid: number } | string | undefined): { written: string[]; problems: string[] } {
  const written: string[] = [];
  const problems: string[] = [];
  const made = new Set<string>(); // directories made (or found) in this call: one mkdir each
  for (const file of rendered) {
    const owner = file.owner !== undefined || file.group !== undefined ? ids(file.owner, file.group) : undefined;
    if (typeof owner === 'string') {
      problems.push(`files.${file.path}: ${owner}`);
      continue;
    }
    const done = writeAtomically(file, owner, made);
    if (done === 'written') written.push(file.path);
    else if (done !== 'unchanged') problems.push(`files.${file.path}: ${done}`);
  }
  return { written, problems };
}

/** 'written', 'unchanged' (content, mode and owner already so), or the problem. Paths are absolute (the manifest's check). */
function writeAtomically(file: Rendered, owner: { uid: number; gid: number } | undefined, made: Set<string>): string {
  const slash = file.path.lastIndexOf('/');
  const dir = file.path.slice(0, slash) || '/';
  const temp = `${file.path.slice(0, slash + 1)}.${file.path.slice(slash + 1)}.berth-${process.pid}`;
  let code: string;
  try {
    if (!made.has(dir)) {
      mkdirSync(dir, { recursive: true, mode: 0o755 });
      made.add(dir);
    }
    code = writeFileAtomically(temp, file.path, file.mode, owner, Buffer.from(file.text));
  } catch (err) {
    code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
  }
  if (code === 'written' || code === 'unchanged') return code;
  if (code === 'EROFS') return `cannot write it: the file system is read-only; mount a tmpfs (Kubernetes: an emptyDir) on ${dir}`;
  if (code === 'EPERM' && owner) return `cannot give it to ${owner.uid}:${owner.gid}: only root can (EPERM)`;
  if (code === 'EACCES') return `cannot write it: uid ${process.getuid?.()} may not write in ${dir} (EACCES); mount a tmpfs it can write (Kubernetes: an emptyDir) on ${dir}`;
  return `cannot write it: ${code}`;
}
