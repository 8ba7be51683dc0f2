// Merges the definitions of every module into one value, the way NixOS
// merges module definitions, driven by the option declarations:
// - at every option, only the definitions with the best (lowest) priority count;
// - mappings (objects, records) merge key by key;
// - lists concatenate, in module order (unless declared `merge: 'unique'`);
// - anything else is single-valued: all definitions must agree, or the
//   conflict is an error naming both places.
// Alongside the value it keeps where each path was defined, so later checks
// can point into the file that made the mistake.
import type { Node } from '../schema-language/schema.js';
import type { Issue, Path } from '../schema-language/validate.js';
import { formatPath } from '../manifest/locate.js';
import { type DefNode, formatLoc, type Loc, plain, PRIORITY } from './definition.js';
import { PRIORITISED, type Prioritised } from './modules/module.js';

/** One module's definition of a subtree, with the priority it inherited or was given. */
export interface Def { node: DefNode; priority: number }

export interface Located { loc: Loc; keyLoc?: Loc }

/** Where every defined path was written; issues on paths nobody wrote land on the nearest written parent. */
export class Locations {
  private readonly byPath = new Map<string, Located>();

  set(path: Path, located: Located): void {
    const key = JSON.stringify(path);
    if (!this.byPath.has(key)) this.byPath.set(key, located);
  }

  /** Records a whole subtree, as written in one definition. */
  setTree(path: Path, node: DefNode, keyLoc?: Loc): void {
    this.set(path, { loc: node.loc, ...(keyLoc ? { keyLoc } : {}) });
    if (node.kind === 'map') for (const e of node.entries) this.setTree([...path, e.key], e.value, e.keyLoc);
    if (node.kind === 'seq') node.items.forEach((item, i) => this.setTree([...path, i], item));
  }

  locate(issue: Pick<Issue, 'path' | 'at'>): Loc | undefined {
    for (let n = issue.path.length; n >= 0; n--) {
      const found = this.byPath.get(JSON.stringify(issue.path.slice(0, n)));
      if (found) return (issue.at === 'key' && n === issue.path.length && found.keyLoc) || found.loc;
    }
    return undefined;
  }
}

export interface MergeProblem { loc: Loc; path: string; message: string }

export interface Merged { value: Record<string, unknown>; locations: Locations; problems: MergeProblem[] }

/** A record's schema for `key`: its own, if the record names it, else the record's. */
const knownOrValue = (node: Extract<Node, { kind: 'record' }>, key: string): Node =>
  (node.known && Object.hasOwn(node.known, key) ? node.known[key] : undefined) ?? node.value;

export function mergeDefinitions(schema: Node, defs: Def[]): Merged {
  const locations = new Locations();
  const problems: MergeProblem[] = [];
  const value = defs.length ? merge(schema, defs, [], locations, problems) : {};
  return { value: (value ?? {}) as Record<string, unknown>, locations, problems };
}

function merge(node: Node | undefined, defs: Def[], path: Path, locations: Locations, problems: MergeProblem[]): unknown {
  const best = Math.min(...defs.map((d) => d.priority));
  const winners = defs.filter((d) => d.priority === best);
  locations.set(path, { loc: winners[0].node.loc });
  const kind = node?.kind;

  if ((kind === 'object' || kind === 'record') && winners.every((d) => d.node.kind === 'map')) {
    const children = new Map<string, { defs: (Def & { keyLoc: Loc })[] }>();
    for (const def of winners) {
      if (def.node.kind !== 'map') continue;
      for (const entry of def.node.entries) {
        if (!children.has(entry.key)) children.set(entry.key, { defs: [] });
        children.get(entry.key)!.defs.push({ node: entry.value, priority: entry.value.priority ?? def.priority, keyLoc: entry.keyLoc });
      }
    }
    const out: Record<string, unknown> = {};
    for (const [key, child] of children) {
      const childPath = [...path, key];
      // The definition that wins the key is where it was written (copy: resolves sources against that file).
      const winner = child.defs.reduce((a, d) => (d.priority < a.priority ? d : a));
      locations.set(childPath, { loc: winner.node.loc, keyLoc: winner.keyLoc });
      const childNode = node!.kind === 'object' ? (Object.hasOwn(node!.fields, key) ? node!.fields[key] : undefined) : knownOrValue(node as Extract<Node, { kind: 'record' }>, key);
      const merged = merge(childNode, child.defs, childPath, locations, problems);
      Object.defineProperty(out, key, { value: merged, enumerable: true, writable: true, configurable: true });
    }
    return out;
  }

  if (kind === 'array' && node!.merge !== 'unique' && winners.every((d) => d.node.kind === 'seq')) {
    const out: unknown[] = [];
    for (const def of winners) {
      if (def.node.kind !== 'seq') continue;
      for (const item of def.node.items) {
        locations.setTree([...path, out.length], item);
        out.push(plain(item));
      }
    }
    return out;
  }

  // Single-valued: every definition must say the same thing.
  const first = winners[0];
  const firstValue = plain(first.node);
  locations.setTree(path, first.node);
  for (const other of winners.slice(1)) {
    const value = plain(other.node);
    if (canonical(value) !== canonical(firstValue)) {
      problems.push({
        loc: other.node.loc,
        path: formatPath(path),
        message: `conflicting definitions: ${show(value)} here and ${show(firstValue)} at ${formatLoc(first.node.loc)}; ` +
          'make them agree, or give one a priority (!force to win, !default to yield)',
      });
    }
  }
  return firstValue;
}

/** JSON with sorted keys, so two mappings written in a different order compare equal. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (v && typeof v === 'object' && !Array.isArray(v)
    ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, (v as Record<string, unknown>)[k]])) : v));
}

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? 'nothing';
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** Turns a module's JS definitions (with mkDefault/mkForce wrappers) into a DefNode located at `loc`. */
export function toDefNode(value: unknown, loc: Loc): DefNode {
  if (isPrioritised(value)) return { ...toDefNode(value.value, loc), priority: value[PRIORITISED] };
  if (Array.isArray(value)) return { kind: 'seq', loc, items: value.map((v) => toDefNode(v, loc)) };
  if (value !== null && typeof value === 'object') {
    return { kind: 'map', loc, entries: Object.entries(value).map(([key, v]) => ({ key, keyLoc: loc, value: toDefNode(v, loc) })) };
  }
  if (value === undefined || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' || value === null) {
    return { kind: 'scalar', loc, value: value ?? null };
  }
  return { kind: 'scalar', loc, value: String(value) };
}

function isPrioritised(value: unknown): value is Prioritised {
  return typeof value === 'object' && value !== null && PRIORITISED in value;
}

export const plainDef = (node: DefNode): Def => ({ node, priority: node.priority ?? PRIORITY.plain });
