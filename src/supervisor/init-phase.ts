// The init's own lifecycle, a small table like a service's: starting (the
// stages run), running (every stage done), draining (a stop was asked for
// with a pre-stop delay: still serving, already not ready), stopping (the
// ordered stop), exited. The supervisor changes its phase only through
// `nextPhase`.
import type { InitPhase } from '../control/state-dir.js';

export type Phase = 'starting' | 'running' | 'draining' | 'stopping' | 'exited';

export type PhaseInput =
  | { kind: 'stages-done' }
  | { kind: 'stop'; delayMs: number } // a signal, a failure, the main command's exit, nothing left to run
  | { kind: 'drained' } // the pre-stop delay is over, or a second signal cut it short
  | { kind: 'stopped' }; // everything is down: the init exits

type Rule = (input: never) => Phase;

const stop = (input: { delayMs: number }): Phase => (input.delayMs > 0 ? 'draining' : 'stopping');

const TABLE: Record<Phase, Partial<Record<PhaseInput['kind'], Rule>>> = {
  starting: { 'stages-done': () => 'running', stop },
  running: { stop },
  draining: { drained: () => 'stopping' },
  stopping: { stopped: () => 'exited' },
  exited: {},
};

/** The phase an input leads to, or null when it changes nothing in this phase. */
export function nextPhase(phase: Phase, input: PhaseInput): Phase | null {
  const rule = TABLE[phase][input.kind] as ((input: PhaseInput) => Phase) | undefined;
  return rule ? rule(input) : null;
}

/** True from the first stop on: nothing starts any more, and control actions are refused. */
export function isShuttingDown(phase: Phase): boolean {
  return phase === 'draining' || phase === 'stopping' || phase === 'exited';
}

/** The phase as the state dir and `berth status` name it: a draining init is already stopping to the outside. */
export function publicPhase(phase: Phase): InitPhase {
  return isShuttingDown(phase) ? 'stopping' : phase === 'running' ? 'running' : 'starting';
}
