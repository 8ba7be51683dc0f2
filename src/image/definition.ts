// One image definition file as Berth sees it: a YAML tree whose every node
// remembers where it was written and which priority it was given, so merging
// can name both sides of a conflict and errors point into the right file.
import type * as YAML from 'yaml';
import { loadYaml, type Position } from '../manifest/locate.js';

/** Where a definition was written: a place in a file, optionally made by a module on its behalf. */
export interface Loc extends Position {
  file: string;
  /** Set when a service module (or the systemd translation) made the definition: "nginx module". */
  via?: string;
}

export function formatLoc(loc: Loc): string {
  return `${loc.file}:${loc.line}:${loc.col}${loc.via ? ` (${loc.via})` : ''}`;
}

/**
 * Priorities as NixOS numbers them: lower wins. A plain definition is 100,
 * `!default` (mkDefault) 1000, `!force` (mkForce) 50, `!override:N` N.
 */
export const PRIORITY = { default: 1000, plain: 100, force: 50 } as const;

/** A YAML value with its position, its key positions and its explicit priority, if any. */
export type DefNode =
  | { kind: 'map'; loc: Loc; priority?: number; entries: DefEntry[] }
  | { kind: 'seq'; loc: Loc; priority?: number; items: DefNode[] }
  | { kind: 'scalar'; loc: Loc; priority?: number; value: string | number | boolean | null };

export interface DefEntry { key: string; keyLoc: Loc; value: DefNode }

/** A problem found while reading a file: at a position, with a message. */
export interface ReadProblem { loc: Loc; message: string }

/** The plain JS value of a node, tags and positions dropped. */
export function plain(node: DefNode): unknown {
  switch (node.kind) {
    case 'scalar': return node.value;
    case 'seq': return node.items.map(plain);
    case 'map': {
      const out: Record<string, unknown> = {};
      for (const { key, value } of node.entries) {
        Object.defineProperty(out, key, { value: plain(value), enumerable: true, writable: true, configurable: true });
      }
      return out;
    }
  }
}

/** Parses YAML text into a DefNode tree; syntax errors and unknown tags become problems. */
export function parseDefinition(text: string, file: string): { root?: DefNode; problems: ReadProblem[] } {
  const { parseDocument, LineCounter } = loadYaml();
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const at = (offset: number | undefined): Loc => ({ file, ...lineCounter.linePos(offset ?? 0) });
  const problems: ReadProblem[] = doc.errors.map((e) => ({
    loc: at(e.pos[0]),
    message: e.code === 'MULTIPLE_DOCS' ? "invalid YAML: an image definition is a single document; remove the '---' separator"
      : e.code === 'DUPLICATE_KEY' ? 'duplicate key: each key may appear only once in a mapping' : `invalid YAML: ${e.message}`,
  }));
  if (problems.length) return { problems };
  if (doc.contents === null) return { problems, root: { kind: 'map', loc: at(0), entries: [] } };
  const root = convert(doc, doc.contents, at, problems, 0);
  return { root, problems };
}

const MAX_DEPTH = 64;

function convert(doc: YAML.Document, node: unknown, at: (offset?: number) => Loc, problems: ReadProblem[], depth: number): DefNode {
  const Y = loadYaml();
  let current = node;
  if (Y.isAlias(current)) current = current.resolve(doc);
  const range = (current as YAML.Node | null)?.range;
  const loc = at(range?.[0]);
  if (depth > MAX_DEPTH) {
    problems.push({ loc, message: `nested more than ${MAX_DEPTH} levels deep` });
    return { kind: 'scalar', loc, value: null };
  }
  const tag = (current as YAML.Node | null)?.tag;
  const priority = tag === undefined ? undefined : priorityOf(tag, loc, problems);
  const withPriority = <T extends DefNode>(n: T): T => (priority === undefined ? n : { ...n, priority });

  if (Y.isMap(current)) {
    const entries: DefEntry[] = [];
    for (const pair of current.items) {
      const keyNode = pair.key as YAML.Node | null;
      const keyLoc = at(keyNode?.range?.[0] ?? range?.[0]);
      const key = Y.isScalar(keyNode) ? keyNode.value : keyNode;
      if (key === '<<') {
        problems.push({ loc: keyLoc, message: "YAML merge keys ('<<') are not supported in image definitions; use imports, which merge" });
        continue;
      }
      if (typeof key !== 'string' && typeof key !== 'number' && typeof key !== 'boolean') {
        problems.push({ loc: keyLoc, message: 'a key must be a plain word or string, not a list or mapping' });
        continue;
      }
      entries.push({ key: String(key), keyLoc, value: convert(doc, pair.value, at, problems, depth + 1) });
    }
    return withPriority({ kind: 'map', loc, entries });
  }
  if (Y.isSeq(current)) {
    return withPriority({ kind: 'seq', loc, items: current.items.map((item) => convert(doc, item, at, problems, depth + 1)) });
  }
  if (Y.isScalar(current)) {
    let value = current.value;
    // An unknown tag (ours) leaves a plain scalar unresolved: `!default 8080` stays "8080". Resolve it as untagged YAML would.
    if (tag !== undefined && current.type === 'PLAIN' && typeof current.source === 'string') value = Y.parse(current.source);
    if (value !== null && typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') value = String(value);
    return withPriority({ kind: 'scalar', loc, value: value as string | number | boolean | null });
  }
  return withPriority({ kind: 'scalar', loc, value: null });
}

function priorityOf(tag: string, loc: Loc, problems: ReadProblem[]): number | undefined {
  if (tag === '!default') return PRIORITY.default;
  if (tag === '!force') return PRIORITY.force;
  const override = /^!override:(\d{1,4})$/.exec(tag);
  if (override) return Number(override[1]);
  // The core schema's own tags (!!str, !!int...) are fine; anything else is a typo of ours.
  if (tag.startsWith('tag:yaml.org,2002:')) return undefined;
  problems.push({ loc, message: `unknown tag '${tag}'; Berth knows !default, !force and !override:N (N from 0 to 9999, lower wins)` });
  return undefined;
}
