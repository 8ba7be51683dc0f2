// Reads an image definition and everything it imports, depth first: the
// imported files come before the file that imports them, each file once.
// Every file is checked against the option declarations on its own, so a
// type mistake is reported in the file that made it.
import { realpathSync } from 'node:fs';
import { dirname, isAbsolute, join, normalize } from 'node:path';
import { validate } from '../schema-language/validate.js';
import { formatPath, START, yamlLimitProblem } from '../manifest/locate.js';
import { readTextFile } from '../manifest/read-text.js';
import { type DefNode, type Loc, parseDefinition, plain } from './definition.js';
import { Locations, type MergeProblem } from './merge.js';
import { imageSchema } from './options.js';

export interface DefinitionFile {
  /** As the user would write it: relative paths stay relative (joined from the importing file). */
  file: string;
  /** The file's own definitions, `imports` removed. */
  root: DefNode;
}

/** Definitions are written by hand; one this big is surely the wrong file. */
export const MAX_DEFINITION_BYTES = 4 * 2 ** 20;

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
    // parseDefinition recurses and expands aliases: bound nesting and aliases first (see manifest/nesting.ts).
    const beyond = yamlLimitProblem(text);
    if (beyond) {
      problems.push({ loc: { file, line: beyond.line, col: beyond.col }, path: '', message: beyond.message });
      return;
    }
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
  const read = readTextFile(file, { what: 'image definition', maxBytes: MAX_DEFINITION_BYTES });
  if ('text' in read) return read.text;
  problems.push(importedAt
    ? { loc: importedAt, path: 'imports', message: `${file}: ${read.problem}` }
    : { loc: { file, ...(read.at ?? START) }, path: '', message: read.problem });
  return undefined;
}
