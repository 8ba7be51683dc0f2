// Quoting for the two languages Berth generates: POSIX shell words and Dockerfile instructions.

/** A single shell word that the shell takes literally: 'it'\''s'. Plain words stay unquoted for readability. */
export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_\/.,:=@%+-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** A JSON array, the Dockerfile's exec form: no shell, no word splitting, newlines escaped. */
export function execForm(argv: readonly string[]): string {
  return `[${argv.map((a) => JSON.stringify(a)).join(', ')}]`;
}

/**
 * A double-quoted Dockerfile value (ENV, LABEL): backslash, quote and `$`
 * escaped, so neither the Dockerfile parser nor its variable substitution
 * sees anything but the text. Control characters are rejected upstream.
 */
export function dockerQuote(value: string): string {
  if (/[\0-\x1f\x7f]/.test(value)) throw new Error(`control character in a Dockerfile value: ${JSON.stringify(value)}`);
  return `"${value.replace(/[\\"$]/g, (c) => `\\${c}`)}"`;
}
