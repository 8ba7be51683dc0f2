// Finds the keys yaml's composer would call duplicates, in one pass. The
// composer checks each key against every earlier key of its mapping, n²/2
// comparisons for n keys: 2·10⁸ for 20,000 services, most of the 23 s
// `berth validate` took. parseYamlDocument composes with that check off and
// asks here instead, for the same errors at the same offsets in the same order.
// For JSON, strict parsing first asks here whether a text repeats a key at all.
import type * as YAML from 'yaml';

type Yaml = typeof YAML;
type Token = { offset: number; source: string };

/** The document is not built the way this pass expects: let yaml's own check run. */
class Unexpected extends Error {}

/**
 * The DUPLICATE_KEY errors yaml's check would add to `doc`, which was composed
 * with `uniqueKeys: false` and `keepSourceTokens: true`, in the order the
 * composer meets them: a block mapping checks a key once the key is composed,
 * a flow mapping once its value is too. Two keys are equal as yaml compares
 * them: scalars whose values are ===; a collection or an alias equals only
 * itself. Each error is where the composer puts it, after the key's
 * indicator and properties (`? `, `&anchor `, `!tag `), found from the same
 * source tokens.
 *
 * undefined when the answer would be unsure: the document is not shaped as
 * expected, or it has other errors and a mapping may have been dropped from it
 * (a `!!pairs` or `!!omap` list keeps one pair of each mapping, and reports
 * the rest), or it has both other errors and duplicates, whose order among
 * each other only the composer knows.
 */
export function duplicateKeyErrors(doc: YAML.Document, Y: Yaml): YAML.YAMLParseError[] | undefined {
  const errors: YAML.YAMLParseError[] = [];
  const others = doc.errors.length > 0;
  if (others && doc.errors.some((e) => e.code === 'RESOURCE_EXHAUSTION')) return undefined;

  const walk = (node: unknown): void => {
    if (Y.isMap(node)) {
      mapping(node);
    } else if (Y.isSeq(node)) {
      // A sequence of pairs is what !!pairs and !!omap make of their mappings.
      if (others && (node.tag === 'tag:yaml.org,2002:pairs' || node.tag === 'tag:yaml.org,2002:omap')) throw new Unexpected();
      for (const item of node.items) {
        if (Y.isPair(item)) {
          walk(item.key);
          walk(item.value);
        } else {
          walk(item);
        }
      }
    }
    // Scalars hold nothing; an alias's target is walked where it is written.
  };

  const mapping = (node: YAML.YAMLMap): void => {
    const token = node.srcToken as YAML.CST.Token | undefined;
    if (!token) {
      // The one-pair mapping a flow sequence makes of `[a: 1]`: nothing to compare.
      if (node.items.length > 1) throw new Unexpected();
      for (const pair of node.items) {
        walk(pair.key);
        walk(pair.value);
      }
      return;
    }
    if (token.type !== 'block-map' && (token.type !== 'flow-collection' || token.start.source !== '{')) throw new Unexpected();
    const block = token.type === 'block-map';
    // What the composer tracks as `offset`: where the last item it composed ended.
    let offset = token.type === 'block-map' ? token.offset : token.offset + token.start.source.length;
    const seen = new Set<unknown>();
    let next = 0;
    for (const item of token.items) {
      const { start, sep } = item;
      const value = 'value' in item ? item.value : undefined;
      const keyStart = start.length ? end(start[start.length - 1]) : offset;
      const marked = start.some((t) => t.type === 'explicit-key-ind' || t.type === 'anchor' || t.type === 'tag');
      if (!marked && !sep && (block || !value)) {
        // An item with no key: a comment, or an empty item the composer reports.
        if (!block) offset = keyStart;
        continue;
      }
      const pair = node.items[next++] as YAML.Pair | undefined;
      if (!pair || pair.srcToken !== item) throw new Unexpected();
      walk(pair.key);
      if (!block) walk(pair.value);
      if (isDuplicate(pair.key, seen)) {
        errors.push(new Y.YAMLParseError([keyStart, keyStart + 1], 'DUPLICATE_KEY', 'Map keys must be unique'));
      }
      if (block) walk(pair.value);
      offset = pair.value ? rangeOf(pair.value)[2] : sep?.length ? end(sep[sep.length - 1]) : rangeOf(pair.key)[2];
    }
    if (next !== node.items.length) throw new Unexpected();
  };

  /** Whether an earlier key of the mapping (its scalar values in `seen`) equals `key`; records `key`. */
  const isDuplicate = (key: unknown, seen: Set<unknown>): boolean => {
    if (!Y.isScalar(key)) return false;
    const { value } = key;
    if (value !== value) return false; // NaN, which is not === to itself (a Set would find it)
    if (seen.has(value)) return true;
    seen.add(value);
    return false;
  };

  try {
    walk(doc.contents);
  } catch (error) {
    if (error instanceof Unexpected) return undefined;
    throw error;
  }
  return others && errors.length ? undefined : errors;
}

function end(token: Token): number {
  return token.offset + token.source.length;
}

function rangeOf(node: unknown): [number, number, number] {
  const range = (node as YAML.Node).range;
  if (!range) throw new Unexpected();
  return range;
}

/**
 * Whether JSON text, of which JSON.parse made `value`, writes a key twice in
 * one object: then it writes more keys than `value` holds, as JSON.parse
 * keeps the last of each. Strict parsing asks yaml where they are only then:
 * this costs a scan of the text and a walk of the value, where the YAML parse
 * cost more than everything else validate does with a big JSON manifest.
 */
export function jsonRepeatsKeys(text: string, value: unknown): boolean {
  return keysWritten(text) > keysHeld(value);
}

/** How many strings of JSON text are followed by a colon: its objects' keys. */
function keysWritten(text: string): number {
  let keys = 0;
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) !== 0x22 /* " */) continue;
    for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c /* \ */) i++;
    let next = i + 1;
    while (next < text.length && isJsonSpace(text.charCodeAt(next))) next++;
    if (text.charCodeAt(next) === 0x3a /* : */) keys++;
  }
  return keys;
}

function isJsonSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** How many keys the objects in a parsed JSON value hold (walked without recursion: JSON.parse takes any depth). */
function keysHeld(value: unknown): number {
  let keys = 0;
  const stack = [value];
  while (stack.length) {
    const item = stack.pop();
    if (typeof item !== 'object' || item === null) continue;
    const values = Object.values(item);
    if (!Array.isArray(item)) keys += values.length;
    for (const inner of values) stack.push(inner);
  }
  return keys;
}
