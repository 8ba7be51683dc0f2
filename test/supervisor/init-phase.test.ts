// The init's own phase table: which inputs move it, and what the outside sees.
import test from 'ava';
import type { InitPhase } from '../../src/control/state-dir.js';
import { isShuttingDown, nextPhase, publicPhase, type Phase } from '../../src/supervisor/init-phase.js';

test('starting → running → stopping → exited; a stop with a pre-stop delay drains first', (t) => {
  t.is(nextPhase('starting', { kind: 'stages-done' }), 'running');
  t.is(nextPhase('running', { kind: 'stop', delayMs: 0 }), 'stopping');
  t.is(nextPhase('running', { kind: 'stop', delayMs: 5000 }), 'draining');
  t.is(nextPhase('starting', { kind: 'stop', delayMs: 0 }), 'stopping', 'a stop during the stages');
  t.is(nextPhase('draining', { kind: 'drained' }), 'stopping');
  t.is(nextPhase('stopping', { kind: 'stopped' }), 'exited');
});

test('a second stop, late stages and a second exit change nothing', (t) => {
  for (const phase of ['draining', 'stopping', 'exited'] as const) {
    t.is(nextPhase(phase, { kind: 'stop', delayMs: 0 }), null, phase);
    t.is(nextPhase(phase, { kind: 'stages-done' }), null, phase);
  }
  t.is(nextPhase('exited', { kind: 'stopped' }), null);
  t.is(nextPhase('running', { kind: 'stopped' }), null, 'no exit without a stop');
});

test('outside, a draining init is already stopping: /readyz fails while it still serves', (t) => {
  const shown: Record<Phase, InitPhase> = { starting: 'starting', running: 'running', draining: 'stopping', stopping: 'stopping', exited: 'stopping' };
  for (const [phase, name] of Object.entries(shown)) t.is(publicPhase(phase as Phase), name);
  t.deepEqual((['starting', 'running', 'draining', 'stopping', 'exited'] as const).filter(isShuttingDown), ['draining', 'stopping', 'exited']);
});
