// `berth check [--ready | --live] [SERVICE…]`: for Kubernetes exec probes.
// Reads the state dir's records (no heavy imports) and asks the kernel, by
// connecting to the control socket, whether an init still owns them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { suggestion } from '../schema-language/did-you-mean.js';
import { readRecords, type StatusRecord } from '../control/state-dir.js';
import { parseArgs, UsageError } from './args.js';
import { stateDirOf } from './locations.js';

export const usage = `berth check [--ready | --live] [--state-dir DIR] [SERVICE...]
  For Kubernetes exec probes. Exit 0 when every named long-run (default: all) is
  ready (--ready, the default: state up) or running (--live: starting or up),
  1 otherwise (one line says which and why), 2 when no live init owns the state dir.
  The state dir: --state-dir, else $BERTH_STATE_DIR, else /run/berth.`;

export async function checkCommand(args: string[]): Promise<number> {
  const parsed = parseArgs(args, ['--state-dir'], ['--ready', '--live']);
  if (parsed.flags.has('--ready') && parsed.flags.has('--live')) throw new UsageError('give --ready or --live, not both');
  const live = parsed.flags.has('--live');
  const dir = stateDirOf(parsed);
  if (!(await initAnswers(dir))) {
    process.stdout.write(`no live init owns the state dir ${dir}\n`);
    return 2;
  }
  if (!live && phaseOf(dir) === 'stopping') {
    process.stdout.write('not ready: the init is stopping\n');
    return 1;
  }
  const all = readRecords(dir);
  const records = all.filter((r) => r.type === 'long-run');
  const names = records.map((r) => r.name);
  const unknown = parsed.positionals.filter((n) => !names.includes(n));
  if (unknown.length) throw new UsageError(unknown.map((n) => `'${n}' is not a long-run of this init${suggestion(n, names)}`).join('; '));
  const wanted = parsed.positionals.length ? records.filter((r) => parsed.positionals.includes(r.name)) : records;
  const ok = live ? (r: StatusRecord) => r.state === 'starting' || r.state === 'up' : (r: StatusRecord) => r.state === 'up';
  const bad = wanted.filter((r) => !ok(r));
  const what = live ? 'running' : 'ready';
  if (bad.length) {
    process.stdout.write(`not ${what}: ${bad.map((r) => `${r.name} (${r.state})`).join(', ')}\n`);
    return 1;
  }
  // a job that failed its failureThreshold of runs in a row makes the container not live
  const unhealthy = live && !parsed.positionals.length ? all.filter((r) => r.unhealthy) : [];
  if (unhealthy.length) {
    process.stdout.write(`unhealthy: ${unhealthy.map((r) => `${r.name} (${r.consecutiveFailures} failed runs in a row)`).join(', ')}\n`);
    return 1;
  }
  process.stdout.write(`${what}: ${wanted.length} long-run${wanted.length === 1 ? '' : 's'}\n`);
  return 0;
}

function phaseOf(dir: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(join(dir, 'init.json'), 'utf8')) as { phase?: string }).phase;
  } catch {
    return undefined;
  }
}

/** True when a live init listens on the state dir's control socket. */
async function initAnswers(dir: string): Promise<boolean> {
  const { connect } = await import('node:net');
  return new Promise((resolve) => {
    const socket = connect(join(dir, 'control.sock'));
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
