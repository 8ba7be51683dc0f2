// Waiting with a ceiling: the init never waits on a process, a logger or a
// reader without a deadline.

/** Waits for `p` until `deadline` (ms since the epoch); true if it settled in time. */
export async function within(p: Promise<unknown>, deadline: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now()))));
  try {
    return await Promise.race([p.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
