// Values that came from secret files never leave the init in its own words:
// its [berth] lines, the control channel's answers and the state dir's
// files pass through redact(). A value shorter than MIN_LENGTH is not
// hidden: replacing every "1" or "on" would garble every line and hide
// nothing a reader could not guess.
const MIN_LENGTH = 4;
const MASK = '[secret]';

let pattern: RegExp | undefined;
/** the same values as their UTF-8 bytes, one char per byte (latin1): what redactBytes matches */
let bytePattern: RegExp | undefined;

/** From now on these values are masked wherever redact() is called; replaces the ones before (a reload). */
export function keepSecret(values: string[]): void {
  const kept = [...new Set(values.filter((v) => v.length >= MIN_LENGTH))].sort((a, b) => b.length - a.length);
  pattern = alternatives(kept);
  bytePattern = alternatives(kept.map((v) => Buffer.from(v, 'utf8').toString('latin1')));
}

function alternatives(values: string[]): RegExp | undefined {
  return values.length ? new RegExp(values.map((v) => v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g') : undefined;
}

/** `text` with every secret value masked. */
export function redact(text: string): string {
  return pattern ? text.replace(pattern, MASK) : text;
}

/** `bytes` (a service's output: any bytes, not only UTF-8) with every secret value masked; every other byte as it was. */
export function redactBytes(bytes: Buffer): Buffer {
  if (!bytePattern) return bytes;
  const text = bytes.toString('latin1');
  const masked = text.replace(bytePattern, MASK);
  return masked === text ? bytes : Buffer.from(masked, 'latin1');
}
