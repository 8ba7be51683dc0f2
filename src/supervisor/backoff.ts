// Restart delays for a long-run. A run that lasted at least a second restarts
// at once (s6's and runit's rule), and so does the first quick death; only
// quick deaths in a row double the wait up to a cap, so a crash loop costs
// the init almost no CPU.
export const RESTART_POLICY = {
  /** delay after the second quick failure in a row; doubles each time */
  baseDelayMs: 100,
  /** the longest wait between two tries */
  maxDelayMs: 10_000,
  /** a run at least this long counts as healthy: the next failure restarts at once */
  resetAfterMs: 1000,
} as const;

/** The delay before the next start, given the quick failures so far (`streak`) and how long the last run lasted. */
export function restartDelay(streak: number, uptimeMs: number): { delayMs: number; streak: number } {
  const quick = uptimeMs >= RESTART_POLICY.resetAfterMs ? 0 : streak;
  const delayMs = quick === 0 ? 0 : Math.min(RESTART_POLICY.baseDelayMs * 2 ** (quick - 1), RESTART_POLICY.maxDelayMs);
  return { delayMs, streak: quick + 1 };
}
