// The init's own log lines. They share stdout with the services (what
// `docker logs` shows), so each carries a prefix that no service would print,
// or is a json object in json logging; src/logs/output.ts batches and writes
// them. `flushLog` empties the batch before the process exits.
import { flushInitLines, initLine } from '../logs/index.js';

export function log(message: string): void {
  initLine(message);
}

export function flushLog(): void {
  flushInitLines();
}
