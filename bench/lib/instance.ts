// One init under test: its own temp dir, event FIFO and PID namespace, all
// removed afterwards whatever happens.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventFifo } from './fifo.js';
import type { Peer, ServiceSpec } from './peers.js';
import { Pid1 } from './pid1.js';

export interface Instance {
  peer: Peer;
  dir: string;
  fifo: EventFifo;
  init: Pid1;
  /** host pid of the init (PID 1 inside) */
  pid: number;
  /** how many services it was given */
  services: number;
}

/** Problems seen while stopping (e.g. Berth needing SIGKILL), reported at the end. */
export const warnings: string[] = [];

const liveDirs = new Set<string>();

/** Removes the temp dirs of instances still running (the bench is exiting early). */
export function removeLiveDirs(): void {
  for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true });
  liveDirs.clear();
}

export type Services = (ctx: { dir: string; fifo: string }) => ServiceSpec[];

export async function startInstance(peer: Peer, services: Services): Promise<Instance> {
  const dir = mkdtempSync(join(tmpdir(), `berth-bench-${peer.name}-`));
  liveDirs.add(dir);
  let fifo: EventFifo | undefined;
  let init: Pid1 | undefined;
  try {
    fifo = new EventFifo(join(dir, 'events'));
    const specs = services({ dir, fifo: fifo.path });
    const launch = peer.prepare(dir, specs);
    init = new Pid1(launch.argv, launch.env, dir);
    const pid = await init.pidAsync();
    return { peer, dir, fifo, init, pid, services: specs.length };
  } catch (err) {
    init?.killNow();
    await init?.exited;
    fifo?.close();
    rmSync(dir, { recursive: true, force: true });
    liveDirs.delete(dir);
    throw err;
  }
}

export async function stopInstance(inst: Instance): Promise<void> {
  // 1,000 exits to reap, log and record take longer than 100 on a 2-core machine
  const graceMs = 3000 + 3 * inst.services;
  const graceful = await inst.init.stop(inst.peer.stopSignal, graceMs);
  if (!graceful && inst.peer.stopSignal === 'SIGTERM') {
    warnings.push(`${inst.peer.name} (${inst.services} services) did not exit within ${graceMs} ms of SIGTERM (S6_KILL_GRACETIME=1000); it was SIGKILLed. Last output:\n${tail(inst.init.output(), 5)}`);
  }
  inst.fifo.close();
  rmSync(inst.dir, { recursive: true, force: true });
  liveDirs.delete(inst.dir);
}

export async function withInstance<T>(peer: Peer, services: Services, fn: (inst: Instance) => Promise<T>): Promise<T> {
  const inst = await startInstance(peer, services);
  try {
    return await fn(inst);
  } finally {
    await stopInstance(inst);
  }
}

/** How long any init may take to bring its services up before a run counts as failed. */
export const UP_TIMEOUT_MS = 30_000;

/** `count` long-runs that each report `up PID` on the FIFO with a shell builtin, then exec sleep. */
export function longRuns(count: number, restart = false): Services {
  return ({ fifo }) =>
    Array.from({ length: count }, (_, i) => ({
      name: `svc${String(i).padStart(3, '0')}`,
      script: `echo up $$ > ${fifo}; exec sleep infinity`,
      restart,
    }));
}

function tail(text: string, n: number): string {
  return text.split('\n').slice(-n).join('\n');
}
