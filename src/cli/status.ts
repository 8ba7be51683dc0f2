// `berth status [STATE_DIR] [--state-dir DIR] [--json] [--watch]`: a row per
// service with CPU and memory, from the init's control channel.
import { NoInit, request } from '../control/client.js';
import type { StatusRecord } from '../control/state-dir.js';
import { statusJson, statusRows, type StatusRow } from '../control/status-rows.js';
import { StatsSampler } from '../procfs/stats.js';
import { parseArgs, UsageError } from './args.js';
import { stateDirOf } from './locations.js';
import { renderTable } from './status-table.js';

export const usage = `berth status [STATE_DIR] [--state-dir DIR] [--json] [--watch]
  A row per service: name, type, state, pid, uptime, restarts, ready, cpu, memory.
  CPU is the share of one core over a 250 ms sample (the refresh interval with --watch);
  memory is RSS summed over the service's processes.
  --json    one JSON array, an object per service
  --watch   redraw every second until Ctrl-C
  The state dir: --state-dir, else $BERTH_STATE_DIR, else /run/berth.`;

const SAMPLE_MS = 250;
const WATCH_MS = 1000;

interface Snapshot {
  init: { pid: number; phase: string };
  services: StatusRecord[];
}

export async function statusCommand(args: string[]): Promise<number> {
  const parsed = parseArgs(args, ['--state-dir'], ['--json', '--watch']);
  if (parsed.positionals.length > 1) throw new UsageError('status takes at most one STATE_DIR');
  const dir = stateDirOf(parsed, parsed.positionals[0]);
  const json = parsed.flags.has('--json');
  const sampler = new StatsSampler();
  try {
    if (parsed.flags.has('--watch')) return await watch(dir, sampler, json);
    await rows(dir, sampler); // the first sample only starts the CPU window
    await sleep(SAMPLE_MS);
    const { snapshot, rows: current } = await rows(dir, sampler);
    process.stdout.write(json ? statusJson(current) : `${heading(dir, snapshot)}\n${renderTable(current, Date.now(), colourful())}\n`);
    return 0;
  } catch (err) {
    if (!(err instanceof NoInit)) throw err;
    process.stderr.write(`berth status: ${(await deadInitNote(dir)) ?? err.message}\n`);
    return 2;
  } finally {
    sampler.close();
  }
}

async function rows(dir: string, sampler: StatsSampler): Promise<{ snapshot: Snapshot; rows: StatusRow[] }> {
  const response = await request(dir, { op: 'status' });
  if (!response.ok) throw new NoInit(response.error);
  const snapshot = response.result as Snapshot;
  const pids = snapshot.services.flatMap((s) => (s.pid === null ? [] : [s.pid]));
  return { snapshot, rows: statusRows(snapshot.services, await sampler.sample(pids)) };
}

async function watch(dir: string, sampler: StatsSampler, json: boolean): Promise<number> {
  const tty = process.stdout.isTTY;
  const restore = (): void => {
    if (tty) process.stdout.write('\x1b[?25h');
  };
  process.once('SIGINT', () => {
    restore();
    process.exit(0);
  });
  if (tty) process.stdout.write('\x1b[?25l\x1b[2J');
  await rows(dir, sampler);
  await sleep(SAMPLE_MS);
  for (let first = true; ; first = false) {
    if (!first) await sleep(WATCH_MS);
    let current: { snapshot: Snapshot; rows: StatusRow[] };
    try {
      current = await rows(dir, sampler);
    } catch (err) {
      restore();
      throw err;
    }
    const body = json ? JSON.stringify(current.rows) : `${heading(dir, current.snapshot)}  (every ${WATCH_MS / 1000}s, Ctrl-C to quit)\n${renderTable(current.rows, Date.now(), colourful())}`;
    // home, the frame, then clear whatever the last frame left below it
    process.stdout.write(tty ? `\x1b[H${body.replaceAll('\n', '\x1b[K\n')}\x1b[K\n\x1b[J` : `${body}\n`);
  }
}

/** Instead of stale "up" rows: whether the init that owned the dir is gone, and what it left running. */
async function deadInitNote(dir: string): Promise<string | undefined> {
  const [{ inspectDeadInit }, { isLocked }] = await Promise.all([import('../control/dead-init.js'), import('../pid1/index.js')]);
  const dead = inspectDeadInit(dir, isLocked);
  if (!dead) return undefined;
  const who = dead.initPid === null ? 'the init that owned it' : `its init (pid ${dead.initPid})`;
  if (dead.initPid === null && dead.alive === 0) return undefined; // a clean exit: nothing to say beyond "no live init"
  const left = dead.alive === 0 ? 'none of its services\' processes is still running' : `${dead.alive} of its services' processes ${dead.alive === 1 ? 'is' : 'are'} still running (pids ${dead.leftovers.slice(0, 10).map((l) => l.pid).join(', ')}${dead.alive > 10 ? ', …' : ''}); the next berth init on this dir stops them`;
  return `no live init owns the state dir ${dir}: ${who} is gone without a clean exit, and ${left}`;
}

function heading(dir: string, s: Snapshot): string {
  return `init pid ${s.init.pid} (${s.init.phase}), state dir ${dir}`;
}

function colourful(): boolean {
  return process.stdout.isTTY === true && !process.env.NO_COLOR;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
