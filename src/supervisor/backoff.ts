// Restart delays for a failing long-run. The first restart is immediate, so a
// one-off crash costs almost nothing; repeated quick failures double the wait
// up to a cap, so a crash loop costs the init almost no CPU; a run that lasted
// a while starts the sequence over.
export const RESTART_POLICY = {
  /** delay after the second quick failure in a row; doubles each time */
  baseDelayMs: 100,
  /** the longest wait between two tries */
  maxDelayMs: 10_000,
  /** a run at least this long counts as healthy: the next failure restarts at once */
  resetAfterMs: 10_000,
} as const;

/** The delay before the next start, given the quick failures so far (`streak`) and how long the last run lasted. */
export function restartDelay(streak: number, uptimeMs: number): { delayMs: number; streak: number } {
  const quick = uptimeMs >= RESTART_POLICY.resetAfterMs ? 0 : streak;
  const delayMs = quick === 0 ? 0 : Math.min(RESTART_POLICY.baseDelayMs * 2 ** (quick - 1), RESTART_POLICY.maxDelayMs);
  return { delayMs, streak: quick + 1 };
}
