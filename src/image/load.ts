// Reads an image definition and everything it imports, depth first: the
// imported files come before the file that imports them, each file once.
// Every file is checked against the option declarations on its own, so a
// type mistake is reported in the file that made it.
import { readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, normalize } from 'node:path';
import { validate } from '../manifest/dsl/validate.js';
import { formatPath } from '../manifest/locate.js';
import { type DefNode, type Loc, parseDefinition, plain } from './definition.js';
import { Locations, type MergeProblem } from './merge.js';
import { imageSchema } from './options.js';

export interface DefinitionFile {
  /** As the user would write it: relative paths stay relative (joined from the importing file). */
  file: string;
  /** The file's own definitions, `imports` removed. */
  root: DefNode;
}

const MAX_BYTES = 4 * 1024 * 1024;

export function loadDefinitions(entry: string): { files: DefinitionFile[]; problems: MergeProblem[] } {
  const files: DefinitionFile[] = [];
  const problems: MergeProblem[] = [];
  const done = new Set<string>();
  const stack: { real: string; file: string }[] = [];

  const visit = (file: string, importedAt?: Loc): void => {
    const start: Loc = { file, line: 1, col: 1 };
    let real: string;
    try {
      real = realpathSync(file);
    } catch {
      problems.push({ loc: importedAt ?? start, path: importedAt ? 'imports' : '', message: importedAt ? `no such file: ${file}` : 'no such file' });
      return;
    }
    if (done.has(real)) return;
    const cycleAt = stack.findIndex((s) => s.real === real);
    if (cycleAt >= 0) {
      const chain = [...stack.slice(cycleAt).map((s) => s.file), file].join(' -> ');
      problems.push({ loc: importedAt!, path: 'imports', message: `import cycle: ${chain}` });
      return;
    }
    const text = readText(file, problems, importedAt);
    if (text === undefined) return;
    const parsed = parseDefinition(text, file);
    problems.push(...parsed.problems.map((p) => ({ ...p, path: '' })));
    if (!parsed.root) return;
    if (parsed.root.kind !== 'map') {
      problems.push({ loc: parsed.root.loc, path: '', message: 'an image definition is a mapping of options (image:, services:, ...)' });
      return;
    }
    const locations = new Locations();
    locations.setTree([], parsed.root);
    for (const issue of validate(imageSchema, plain(parsed.root), [], { partial: true }).issues) {
      problems.push({ loc: locations.locate(issue) ?? start, path: formatPath(issue.path), message: issue.message });
    }
    stack.push({ real, file });
    const importsEntry = parsed.root.entries.find((e) => e.key === 'imports');
    if (importsEntry?.value.kind === 'seq') {
      for (const item of importsEntry.value.items) {
        if (item.kind !== 'scalar' || typeof item.value !== 'string') continue; // reported by validation
        if (isAbsolute(item.value)) {
          problems.push({ loc: item.loc, path: 'imports', message: `imports are relative to this file; '${item.value}' is absolute` });
          continue;
        }
        visit(normalize(join(dirname(file), item.value)), item.loc);
      }
    }
    stack.pop();
    done.add(real);
    files.push({ file, root: { ...parsed.root, entries: parsed.root.entries.filter((e) => e.key !== 'imports') } });
  };
  visit(entry);
  return { files, problems };
}

function readText(file: string, problems: MergeProblem[], importedAt?: Loc): string | undefined {
  const fail = (message: string) => {
    problems.push(importedAt
      ? { loc: importedAt, path: 'imports', message: `${file}: ${message}` }
      : { loc: { file, line: 1, col: 1 }, path: '', message });
    return undefined;
  };
  try {
    const info = statSync(file);
    if (info.isDirectory()) return fail('this is a directory; give the path of an image definition file');
    if (info.size > MAX_BYTES) return fail('the file is too big to be an image definition');
    const bytes = readFileSync(file);
    if (bytes.includes(0)) return fail('this is binary data, not a YAML image definition');
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes).replace(/^\uFEFF/, '');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return fail('no such file');
    if (code === 'EACCES' || code === 'EPERM') return fail('permission denied: cannot read the file');
    if (error instanceof TypeError) return fail('the file is not UTF-8 text');
    return fail(`cannot read the file: ${(error as Error).message}`);
  }
}
