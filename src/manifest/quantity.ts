// The manifest's resource amounts as Kubernetes writes them: memory as a
// quantity ("256Mi", "1G", "1.5Gi", plain bytes), CPU in cores (0.5) or
// millicores ("500m"), and a pids count. Parsed with exact decimal
// arithmetic and rounded up as Kubernetes rounds (Quantity.Value(),
// MilliValue()), so "1.1Ki" is 1127 bytes here as it is for a kubelet.
export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

const BINARY: Record<string, bigint> = { Ki: 1n << 10n, Mi: 1n << 20n, Gi: 1n << 30n, Ti: 1n << 40n };
const DECIMAL: Record<string, bigint> = { k: 10n ** 3n, M: 10n ** 6n, G: 10n ** 9n, T: 10n ** 12n };
const MULTIPLIERS: Record<string, bigint> = { '': 1n, ...BINARY, ...DECIMAL };

// Kubernetes' <signedNumber>: digits, "1.5", "1." or ".5"; a sign it allows, a negative amount is refused below
const NUMBER = String.raw`([+-]?)(\d+\.?\d*|\.\d+)`;
const MEMORY = new RegExp(`^${NUMBER}(Ki|Mi|Gi|Ti|k|M|G|T)?$`);
const CPU = new RegExp(`^${NUMBER}(m?)$`);

// pids.max refuses anything from PIDS_MAX (PID_MAX_LIMIT + 1) up
export const MAX_PIDS = 4 * 1024 * 1024;

const MEMORY_HINT = 'use bytes or a suffix: Ki, Mi, Gi, Ti, k, M, G, T (e.g. 256Mi)';
const CPU_HINT = 'use cores (0.5, 2) or millicores (500m)';

/** `digits` scaled by `multiplier / 10^fraction`, rounded up: [sign, magnitude]. */
function exact(sign: string, digits: string, multiplier: bigint): { negative: boolean; value: bigint } {
  const [whole, fraction = ''] = digits.split('.');
  const scaled = BigInt((whole || '0') + fraction) * multiplier;
  const divisor = 10n ** BigInt(fraction.length);
  return { negative: sign === '-', value: (scaled + divisor - 1n) / divisor };
}

/** A JS number as the decimal digits Kubernetes would see: no exponent ("1e-7" is 0.0000001). */
function numberText(n: number): string | undefined {
  if (!Number.isFinite(n)) return undefined;
  const text = String(n); // the shortest digits that are n: 0.1, not 0.1000000000000000055
  if (!text.includes('e')) return text;
  return Math.abs(n) < 1 ? n.toFixed(20) : BigInt(n).toString(); // from 1e21 up every number is whole
}

/** A memory limit in bytes: a quantity string, or a number of bytes. */
export function parseMemory(input: unknown): Parsed<number> {
  const text = typeof input === 'number' ? numberText(input) : typeof input === 'string' ? input : undefined;
  const m = text === undefined ? null : MEMORY.exec(text);
  if (!m) return { ok: false, error: `${show(input)} is not a memory quantity; ${MEMORY_HINT}` };
  const { negative, value } = exact(m[1], m[2], MULTIPLIERS[m[3] ?? '']);
  if (negative || value === 0n) return { ok: false, error: `memory ${show(input)} must be more than 0 bytes` };
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) return { ok: false, error: `memory ${show(input)} is more than any machine has (at most ${Number.MAX_SAFE_INTEGER} bytes)` };
  return { ok: true, value: Number(value) };
}

/** A CPU limit in cores, to the millicore (finer amounts round up, as Kubernetes rounds them). */
export function parseCpu(input: unknown): Parsed<number> {
  const text = typeof input === 'number' ? numberText(input) : typeof input === 'string' ? input : undefined;
  const m = text === undefined ? null : CPU.exec(text);
  if (!m) return { ok: false, error: `${show(input)} is not a CPU amount; ${CPU_HINT}` };
  const { negative, value: millicores } = exact(m[1], m[2], m[3] === 'm' ? 1n : 1000n);
  if (negative || millicores === 0n) return { ok: false, error: `cpu ${show(input)} must be more than 0 (at least 1m)` };
  // cpu.max takes microseconds per 100 ms period: 100 per millicore
  if (millicores * 100n > BigInt(Number.MAX_SAFE_INTEGER)) return { ok: false, error: `cpu ${show(input)} is more than any machine has` };
  return { ok: true, value: Number(millicores) / 1000 };
}

/** A pids limit: a whole number of processes and threads, 1 to MAX_PIDS. */
export function parsePids(input: unknown): Parsed<number> {
  if (typeof input !== 'number' || !Number.isInteger(input)) return { ok: false, error: `${show(input)} is not a number of processes; use a whole number (e.g. 200)` };
  if (input < 1 || input > MAX_PIDS) return { ok: false, error: `pids ${input} must be from 1 to ${MAX_PIDS}` };
  return { ok: true, value: input };
}

/** Bytes as the shortest exact quantity: "256Mi", "1G", else plain bytes. */
export function formatMemory(bytes: number): string {
  const b = BigInt(bytes);
  for (const [suffix, multiplier] of [...Object.entries(BINARY), ...Object.entries(DECIMAL)].sort((x, y) => (y[1] > x[1] ? 1 : -1))) {
    if (b % multiplier === 0n) return `${b / multiplier}${suffix}`;
  }
  return String(bytes);
}

/** Cores as Kubernetes prints them: whole cores as a number, else millicores ("500m"). */
export function formatCpu(cores: number): string {
  const millicores = Math.round(cores * 1000);
  return millicores % 1000 === 0 ? String(millicores / 1000) : `${millicores}m`;
}

const show = (input: unknown): string => (typeof input === 'string' ? `'${input}'` : typeof input === 'number' ? String(input) : JSON.stringify(input) ?? String(input));
