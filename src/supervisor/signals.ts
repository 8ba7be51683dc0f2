// Signal names and numbers, for exit codes (128+N) and log lines.
import { constants } from 'node:os';

export { parseSignal } from '../manifest/signal-name.js';

export function signalNumber(name: NodeJS.Signals): number {
  return constants.signals[name] ?? 0;
}

export function signalName(n: number): NodeJS.Signals | undefined {
  return (Object.keys(constants.signals) as NodeJS.Signals[]).find((k) => constants.signals[k] === n);
}

/** The exit code a shell would report: the code, or 128+N for death by signal N. */
export function exitCodeOf(exit: { code: number | null; signal: NodeJS.Signals | null }): number {
  return exit.code ?? 128 + signalNumber(exit.signal ?? 'SIGKILL');
}
