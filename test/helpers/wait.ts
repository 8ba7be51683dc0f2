// Waiting on a condition instead of sleeping a fixed time: a test is as fast
// as the machine allows, and a slow machine gets a bound, not a flaky guess.

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Calls `probe` every `everyMs` until it returns something other than
 * undefined or false, and resolves with that. After `timeoutMs` it rejects
 * with `what` and the last thing the probe saw (`describe`, when given).
 */
export async function waitUntil<T>(
  what: string,
  probe: () => T | undefined | false,
  opts: { timeoutMs?: number; everyMs?: number; describe?: () => string } = {},
): Promise<T> {
  const { timeoutMs = 15_000, everyMs = 20 } = opts;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}${opts.describe ? `; ${opts.describe()}` : ''}`);
    await sleep(everyMs);
  }
}
