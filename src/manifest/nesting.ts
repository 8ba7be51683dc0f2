// How deeply a manifest or image definition may nest lists and mappings, and
// where a text first goes deeper. The yaml package composes nested
// collections by recursion, which overflows the CLI's stack at about 820
// levels of flow collections (920-980 in block style). yaml catches that
// RangeError, but when V8 compiles a regular expression (it tiers them up
// lazily) that close to the stack limit, it reports the failure as out of
// memory and aborts the process (SIGABRT, "RegExpCompiler Allocation
// failed"), which no catch can stop: `berth validate` of a 5,000-deep JSON
// manifest died so in 6 runs of 6. So the depth is bounded before anything
// recursive sees the text.

/** Far deeper than any manifest (the deepest option is 5 levels) and far from the ~800 where recursion fails. */
export const MAX_NESTING = 64;

export const TOO_DEEP = `lists and mappings are nested more than ${MAX_NESTING} levels deep; Berth reads at most ${MAX_NESTING}`;

/**
 * Offset of the `[` or `{` that opens level MAX_NESTING + 1 of JSON text, or
 * -1. A linear scan that skips strings; invalid JSON is scanned all the same.
 */
export function jsonTooDeepAt(text: string): number {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c /* \ */) i++;
    } else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > MAX_NESTING) return i;
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) {
      depth--;
    }
  }
  return -1;
}

/**
 * Offset of the collection at level MAX_NESTING + 1 among the yaml Parser's
 * open tokens (the path from the document to the token being parsed), if any.
 */
export function yamlTooDeepAt(open: readonly { type: string; offset: number }[]): number | undefined {
  if (open.length <= MAX_NESTING) return undefined;
  let depth = 0;
  for (const token of open) {
    if (token.type !== 'block-map' && token.type !== 'block-seq' && token.type !== 'flow-collection') continue;
    if (++depth > MAX_NESTING) return token.offset;
  }
  return undefined;
}
