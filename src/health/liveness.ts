// Checks a ready service every interval; `failureThreshold` failures in a row
// call `onUnhealthy` with the last answer, once. Stops when the service exits.
import type { Liveness } from '../manifest/index.js';
import { runProbe, type RunCommand } from './probe.js';
import { sleep } from './readiness.js';

export function watchLiveness(liveness: Liveness, signal: AbortSignal, run: RunCommand, onUnhealthy: (why: string) => void): void {
  void (async () => {
    let failures = 0;
    for (;;) {
      await sleep(liveness.intervalMs, signal);
      if (signal.aborted) return;
      const result = await runProbe(liveness.probe, liveness.timeoutMs, run);
      if (signal.aborted) return;
      failures = result.ok ? 0 : failures + 1;
      if (failures >= liveness.failureThreshold) {
        onUnhealthy(`liveness check failed ${failures} times in a row (last: ${result.answer})`);
        return;
      }
    }
  })();
}
