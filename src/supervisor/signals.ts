// Signal names and numbers, for exit codes (128+N) and log lines.
import { constants } from 'node:os';

export function signalNumber(name: NodeJS.Signals): number {
  return constants.signals[name] ?? 0;
}

export function signalName(n: number): NodeJS.Signals | undefined {
  return (Object.keys(constants.signals) as NodeJS.Signals[]).find((k) => constants.signals[k] === n);
}
