// Durations as people write them in a manifest: a number of milliseconds, or
// a whole number with a unit (`500ms`, `10s`, `2m`, `1h`).

export const DURATION_PATTERN = /^\d{1,9}(ms|s|m|h)$/;
export const DURATION_HINT = 'a duration: milliseconds as a number, or a whole number with ms, s, m or h (500ms, 10s, 2m)';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds, or undefined for text that is not a duration. */
export function parseDuration(value: number | string): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  const m = /^(\d{1,9})(ms|s|m|h)$/.exec(value);
  return m ? Number(m[1]) * UNIT_MS[m[2]] : undefined;
}
