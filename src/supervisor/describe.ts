// The English of the init's log: each transition event as the `[berth]` line
// an operator reads. Nothing else turns events into words.
import { exitCodeOf } from '../unix/signals.js';
import type { TransitionEvent } from './service.js';
import type { Exit } from '../launch/spawn.js';
import { span } from '../logs/init-log.js';
import { formatMemory } from '../manifest/quantity.js';

export function describeExit(exit: Exit): string {
  if (exit.reason) return `could not start: ${exit.reason} (code ${exit.code})`;
  if (exit.oom?.by === 'kernel') return `killed by the kernel's OOM killer (SIGKILL, code ${exitCodeOf(exit)}): OOM, ${oomLimit(exit.oom.limit)}`;
  const how = exit.signal ? `killed by ${exit.signal} (code ${exitCodeOf(exit)})` : `exited with code ${exit.code}`;
  if (exit.oom) return `${how} after ${exit.cause}: OOM, stopped by the watcher`;
  return exit.cause ? `${how} after ${exit.cause}` : how;
}

function oomLimit(limit: number | null): string {
  return limit === null ? 'a memory limit above its own (the container\'s)' : `its memory limit (${formatMemory(limit)}) reached`;
}

export function describeTransition(e: TransitionEvent): string {
  return `${e.service}: ${what(e)}`;
}

function what(e: TransitionEvent): string {
  if (e.signal) return e.cause ? `${e.cause}: sending ${e.signal}` : `sending ${e.signal}`;
  if (e.exit) {
    const exit = describeExit(e.exit);
    if (e.to === 'backoff') return `${e.repeat ? `failed again the same way (${exit})` : exit}; restarting in ${span(e.delayMs ?? 0)} (restart #${e.restarts})`;
    if (e.limit) return `${exit}; not restarted: ${e.limit.maxRestarts} restarts within ${e.limit.windowMs} ms already (maxRestarts)`;
    return e.to === 'stopped' ? `stopped, ${exit}` : exit;
  }
  if (e.to === 'up' && e.from === 'starting') return 'ready';
  if (e.to === 'up' || e.to === 'starting' || e.to === 'running') return `started (pid ${e.pid})`;
  if (e.to === 'waiting') return 'waiting for its schedule';
  if (e.to === 'stopped') return e.from === 'backoff' ? 'restart cancelled, stopped' : e.from === 'waiting' ? 'stopped: no more runs' : 'stopped before it started';
  return `${e.from} -> ${e.to}`;
}

/** "1 service", "3 services". */
export function count(n: number, noun: string, plural = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : plural}`;
}
