// Signal names as an operator or a manifest writes them.
import { constants } from 'node:os';

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
