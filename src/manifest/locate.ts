// Maps a problem's path (services.web.after[0]) to the line and column an
// editor should jump to. The YAML parser is loaded only here, and only when
// needed: PID 1 reads a JSON manifest that is almost always valid, and
// should not pay for a YAML parser it never uses.
import { createRequire } from 'node:module';
import type * as YAML from 'yaml';
import type { Issue, Path } from '../schema-language/validate.js';
import { duplicateKeyErrors } from './duplicate-keys.js';
import { TOO_DEEP, yamlTooDeepAt } from './nesting.js';

export interface Position { line: number; col: number }
export type Locate = (issue: Pick<Issue, 'path' | 'at'>) => Position;

export const START: Position = { line: 1, col: 1 };

let yaml: typeof YAML | undefined;
/** The `yaml` package, loaded on first use. Synchronous (require) so checkManifest can stay synchronous. */
export function loadYaml(): typeof YAML {
  yaml ??= createRequire(import.meta.url)('yaml') as typeof YAML;
  return yaml;
}

/**
 * Parses YAML (or JSON, a subset) with a LineCounter, keeping node ranges for
 * locating. What yaml's parseDocument does, with the nesting bounded: a text
 * nested too deep gives an empty document whose one error says where. Keys
 * are checked for duplicates in one pass (duplicate-keys.ts), not by the
 * composer, whose check grows with the square of a mapping's size; yaml's own
 * check runs only where that pass is unsure (duplicates among other errors).
 */
export function parseYamlDocument(source: string, { merge = true } = {}) {
  const { Document, LineCounter, YAMLParseError } = loadYaml();
  const lineCounter = new LineCounter();
  const position = (offset: number): Position => lineCounter.linePos(offset);
  const parsed = parseTokens(source, lineCounter);
  if ('tooDeepAt' in parsed) {
    const doc = new Document(null);
    doc.errors.push(new YAMLParseError([parsed.tooDeepAt, parsed.tooDeepAt + 1], 'RESOURCE_EXHAUSTION', TOO_DEEP));
    return { doc, position };
  }
  let { doc, next } = compose(parsed.tokens, source.length, { merge, uniqueKeys: false, keepSourceTokens: true });
  const duplicates = duplicateKeyErrors(doc, loadYaml());
  if (duplicates) doc.errors.push(...duplicates);
  else ({ doc, next } = compose(parsed.tokens, source.length, { merge }));
  if (next) doc.errors.push(new YAMLParseError([next.range[0], next.range[1]], 'MULTIPLE_DOCS', 'Source contains multiple documents'));
  return { doc, position };
}

/** The first document the tokens make, and the next one if there is another (a manifest is a single document). */
function compose(tokens: YAML.CST.Token[], length: number, options: YAML.DocumentOptions & YAML.ParseOptions & YAML.SchemaOptions) {
  // logLevel 'error': yaml would otherwise print a Node warning to stderr (a collection as a key), outside any problem line.
  const composer = new (loadYaml().Composer)({ ...options, logLevel: 'error' });
  let doc: YAML.Document.Parsed | undefined;
  for (const next of composer.compose(tokens, true, length)) {
    if (doc) return { doc, next };
    doc = next;
  }
  return { doc: doc!, next: undefined };
}

/** yaml's guard against alias bombs, in copies of anchored data a document may expand to (yaml's default is 100). */
export const MAX_ALIAS_COUNT = 1000;

/**
 * Where `source` breaks a limit Berth's own YAML walkers rely on, for callers
 * that compose it themselves (image definitions): nesting beyond MAX_NESTING,
 * or aliases expanding beyond MAX_ALIAS_COUNT, which such a walker would
 * otherwise expand node by node until memory runs out (an alias bomb).
 * Syntax errors are left to the caller's own parse.
 */
export function yamlLimitProblem(source: string): (Position & { message: string }) | undefined {
  const { doc, position } = parseYamlDocument(source, { merge: false });
  const deep = doc.errors.find((e) => e.message === TOO_DEEP);
  if (deep) return { ...position(deep.pos[0]), message: TOO_DEEP };
  if (doc.errors.length) return undefined;
  try {
    doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    return { ...START, message: `invalid YAML: ${(error as Error).message}` };
  }
  return undefined;
}

/** yaml's CST, one lexeme at a time so parsing stops as soon as the open collections go too deep. */
function parseTokens(source: string, lineCounter: YAML.LineCounter): { tokens: YAML.CST.Token[] } | { tooDeepAt: number } {
  const { Lexer, Parser } = loadYaml();
  const parser = new Parser(lineCounter.addNewLine);
  lineCounter.addNewLine(0);
  const tokens: YAML.CST.Token[] = [];
  for (const lexeme of new Lexer().lex(source)) {
    for (const token of parser.next(lexeme)) tokens.push(token);
    const tooDeepAt = yamlTooDeepAt(parser.stack);
    if (tooDeepAt !== undefined) return { tooDeepAt };
  }
  for (const token of parser.end()) tokens.push(token);
  return { tokens };
}

/** A Locate for `source`, parsed at the first call: only files with problems pay for it. */
export function sourceLocator(source: string): Locate {
  let locate: Locate | undefined;
  return (issue) => {
    if (!locate) {
      const { doc, position } = parseYamlDocument(source);
      locate = documentLocator(doc, position);
    }
    return locate(issue);
  };
}

/**
 * Walks the document along the path as far as it exists. A missing field
 * therefore lands on the mapping that lacks it; `at: 'key'` lands on the key.
 */
export function documentLocator(doc: YAML.Document, position: (offset: number) => Position): Locate {
  const { isAlias, isMap, isSeq } = loadYaml();
  return ({ path, at }) => {
    let node: unknown = doc.contents;
    let offset = (doc.contents as YAML.Node | null)?.range?.[0] ?? 0;
    for (const [i, segment] of path.entries()) {
      if (isAlias(node)) node = node.resolve(doc);
      if (isMap(node)) {
        const pair = pairNamed(node, String(segment));
        if (!pair) break;
        const keyOffset = (pair.key as YAML.Node | null)?.range?.[0];
        const valueRange = (pair.value as YAML.Node | null)?.range;
        // A key with an empty value (`environment:`) has an empty value range: point at the key.
        const valueOffset = valueRange && valueRange[0] < valueRange[1] ? valueRange[0] : undefined;
        offset = (at === 'key' && i === path.length - 1 ? keyOffset : valueOffset ?? keyOffset) ?? offset;
        node = pair.value;
      } else if (isSeq(node) && typeof segment === 'number' && segment < node.items.length) {
        node = node.items[segment];
        offset = (node as YAML.Node | null)?.range?.[0] ?? offset;
      } else {
        break;
      }
    }
    return position(offset);
  };
}

/** Per mapping: its pairs by key, as far as lookups have read it (first pair of a key wins, as in a search). */
const pairIndexes = new WeakMap<YAML.YAMLMap, { byKey: Map<string, YAML.Pair>; read: number }>();

/**
 * The first pair of `map` whose key reads `name`. A search from the start for
 * each lookup made a manifest whose services each have a problem n²/2 key
 * reads; this reads each key once, and no further than a search would.
 */
function pairNamed(map: YAML.YAMLMap, name: string): YAML.Pair | undefined {
  let index = pairIndexes.get(map);
  if (!index) pairIndexes.set(map, (index = { byKey: new Map(), read: 0 }));
  const found = index.byKey.get(name);
  if (found) return found;
  while (index.read < map.items.length) {
    const pair = map.items[index.read];
    const key = keyText(pair.key);
    index.read++;
    if (!index.byKey.has(key)) index.byKey.set(key, pair);
    if (key === name) return pair;
  }
  return undefined;
}

function keyText(key: unknown): string {
  const { isScalar } = loadYaml();
  return isScalar(key) ? String(key.value) : String(key);
}

/** `services.web.after[0]`; keys that would read ambiguously are quoted: `services["my.app"]`. */
export function formatPath(path: Path): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (/^[A-Za-z0-9_$-]+$/.test(segment)) out += out ? `.${segment}` : segment;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/** Line and column (both 1-based) of a character offset, for parsers that report offsets. */
export function positionAt(source: string, offset: number): Position {
  let line = 1;
  let lineStart = 0;
  for (let i = source.indexOf('\n'); i >= 0 && i < offset; i = source.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, col: offset - lineStart + 1 };
}
