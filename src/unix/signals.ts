// Signals: their names as an operator or a manifest writes them, their
// numbers for exit codes (128+N) and log lines, and sending one to a
// process or its group.
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

/** Signals a process group (a service's session); a process not leading one yet gets it alone. */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    signalPid(pid, signal); // not a group leader (yet): at least the process itself
  }
}

/** Signals one process; false when it is already gone. */
export function signalPid(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}
