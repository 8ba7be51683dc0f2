// The end of a run: SIGTERM to the init, which must exit 0 within the limit,
// and afterwards no process it ran may be left: none of those seen under it
// (a pid with its start time), and, as PID 1, none in its namespace.
import type { Init, Exited } from './launch.js';
import type { Monitor } from './monitor.js';
import { identity, processesInNamespace, stillRuns } from './procview.js';
import { sleep, type Soak } from './soak.js';

export interface Ending {
  /** ms from SIGTERM to its exit; undefined when it had to be SIGKILLed */
  exitMs: number | undefined;
  exit: Exited;
  /** what still ran after it exited */
  left: string[];
}

/** Stops the init with SIGTERM and checks how it ends. `ns`: its PID namespace, when it runs as PID 1. */
export async function endInit(soak: Soak, init: Init, monitor: Monitor, ns: string | undefined, limitMs: number): Promise<Ending> {
  const seen = new Set<string>();
  const remember = (): void => {
    monitor.scan();
    for (const p of monitor.processes) seen.add(identity(p));
  };
  remember();
  const t0 = Date.now();
  kill(init.pid, 'SIGTERM');
  let exitMs: number | undefined;
  // what the init starts or adopts while it stops counts too
  while (Date.now() - t0 < limitMs) {
    if (init.exit) {
      exitMs = Date.now() - t0;
      break;
    }
    remember();
    await sleep(100);
  }
  if (exitMs === undefined) {
    soak.fail(`the init exits within ${limitMs / 1000} s of SIGTERM`, `still running ${limitMs / 1000} s after SIGTERM; under it: ${monitor.processes.map((p) => `${p.comm} (${p.nspid}, ${p.state})`).join(', ') || 'nothing'}`);
    kill(init.pid, 'SIGKILL');
  }
  const exit = await init.exited;
  if (exitMs !== undefined && exit.code !== 0) soak.fail('the init exits 0 on SIGTERM', `it exited with code ${exit.code}, signal ${exit.signal}`);
  let left: string[] = [];
  for (let i = 0; i < 30; i++) {
    left = [...seen].filter(stillRuns);
    if (ns) left.push(...processesInNamespace(ns).map((pid) => `${pid} (in its namespace)`));
    if (!left.length) break;
    await sleep(100);
  }
  if (left.length) {
    soak.fail('nothing left running after the init exits', `${left.length} processes (host pid@start) still run 3 s after it exited: ${left.slice(0, 20).join(', ')}`);
    for (const id of left) kill(Number(id.split(/[@ ]/)[0]), 'SIGKILL');
  }
  return { exitMs, exit, left };
}

export function kill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // gone
  }
}
