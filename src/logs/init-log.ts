// The init's own log lines. They share stdout with the services (what
// `docker logs` shows), so each carries a prefix that no service would print,
// or is a json object in json logging; src/logs/output.ts batches and writes
// them. `flushLog` empties the batch before the process exits.
import { flushInitLines, initLine } from './index.js';

/** How much the init says, as s6-overlay's S6_VERBOSITY: 0 errors, 1 and warnings, 2 (default) and every transition. */
const VERBOSITY = verbosityFromEnv(process.env.S6_VERBOSITY);
const LEVELS = { error: 0, warning: 1, info: 2 } as const;

export function verbosityFromEnv(raw: string | undefined): number {
  return raw !== undefined && /^\d+$/.test(raw) ? Number(raw) : 2;
}

/** A line of the init's own; `warning: …` lines are warnings unless said otherwise. */
export function log(message: string, level: keyof typeof LEVELS = message.startsWith('warning:') ? 'warning' : 'info'): void {
  if (LEVELS[level] > VERBOSITY) return;
  initLine(message);
}

export function flushLog(): void {
  flushInitLines();
}

/** A span of time as the init's lines say it: 100 ms, 1.6 s, 10 s. */
export function span(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Number((ms / 1000).toFixed(1))} s`;
}
