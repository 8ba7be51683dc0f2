// Signal names and numbers: as an operator or a manifest writes them, for
// exit codes (128+N), and for log lines.
import { constants } from 'node:os';

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

/**
 * `HUP`, `SIGHUP`, `hup` or a number, as the signal's name; undefined when it
 * names no signal this system knows.
 */
export function parseSignal(text: string): NodeJS.Signals | undefined {
  if (/^\d+$/.test(text)) return (Object.keys(constants.signals) as NodeJS.Signals[]).find((k) => constants.signals[k] === Number(text));
  const upper = text.toUpperCase();
  const name = (upper.startsWith('SIG') ? upper : `SIG${upper}`) as NodeJS.Signals;
  return Object.hasOwn(constants.signals, name) ? name : undefined;
}
