// Summaries and formatting of repeated measurements.

export interface Summary {
  median: number;
  min: number;
  max: number;
  n: number;
}

export function summarise(values: number[]): Summary | undefined {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return undefined;
  const mid = v.length >> 1;
  const median = v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
  return { median, min: v[0], max: v[v.length - 1], n: v.length };
}

/** The `q` quantile (0..1) of `values` by nearest rank: p99 of 40 samples is the largest. */
export function quantile(values: number[], q: number): number | undefined {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  return v.length ? v[Math.min(v.length - 1, Math.max(0, Math.ceil(q * v.length) - 1))] : undefined;
}

/** Rounds to a sensible number of digits for a table. */
export function num(x: number, digits?: number): string {
  if (!Number.isFinite(x)) return String(x);
  const d = digits ?? (Math.abs(x) >= 100 ? 0 : Math.abs(x) >= 10 ? 1 : 2);
  return x.toFixed(d);
}

/** "245 ms (min 230, max 260, n=5)" */
export function fmt(s: Summary | undefined, unit: string, digits?: number): string {
  if (!s) return 'no data';
  if (s.n === 1) return `${num(s.median, digits)} ${unit} (n=1)`;
  return `${num(s.median, digits)} ${unit} (min ${num(s.min, digits)}, max ${num(s.max, digits)}, n=${s.n})`;
}

export function mb(kb: number): number {
  return kb / 1024;
}

/** Per-iteration ratios a/b, so each ratio compares runs made back to back. */
export function pairedRatios(a: number[], b: number[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (Number.isFinite(a[i]) && Number.isFinite(b[i]) && b[i] !== 0) out.push(a[i] / b[i]);
  return out;
}

/** `items` started at position `by` (mod length): run k of a comparison takes its contenders in this order, so none is always first or always after the same one. */
export function rotated<T>(items: readonly T[], by: number): T[] {
  const k = by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

export function verdict(pass: boolean | undefined): string {
  return pass === undefined ? 'n/a ' : pass ? 'PASS' : 'MISS';
}

/**
 * One figure over the runs, in run order. A run that produced nothing adds
 * NaN, so two figures stay paired run by run for `ratioTo`.
 */
export class Samples {
  readonly values: number[] = [];

  add(value: number | undefined): void {
    this.values.push(value ?? NaN);
  }

  get summary(): Summary | undefined {
    return summarise(this.values);
  }

  /** this/other run by run, summarised */
  ratioTo(other: Samples): Summary | undefined {
    return summarise(pairedRatios(this.values, other.values));
  }
}

/** A set of named figures, each its own Samples: `figures(['rss', 'pss'])`. */
export function figures<K extends string>(names: readonly K[]): Record<K, Samples> {
  return Object.fromEntries(names.map((n) => [n, new Samples()])) as Record<K, Samples>;
}
