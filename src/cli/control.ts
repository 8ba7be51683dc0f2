// `berth start|stop|restart SERVICE…`, `berth signal SIGNAL SERVICE…` and `berth run JOB`:
// one request to the init's control channel; each returns once the action is
// complete, and prints one line per service.
import { NoInit, request } from '../control/client.js';
import type { ActionOp, ReloadResult, ServiceResult } from '../control/protocol.js';
import { parseSignal } from '../unix/signals.js';
import { parseArgs, UsageError } from './args.js';
import { stateDirOf } from './locations.js';

const WHERE = '  The state dir: --state-dir DIR, else $BERTH_STATE_DIR, else /run/berth.';

export const usages: Record<ActionOp, string> = {
  start: `berth start [--state-dir DIR] SERVICE...\n  Starts services that are stopped, finished or failed; returns once they run (a oneshot: once it ran).\n${WHERE}`,
  stop: `berth stop [--state-dir DIR] SERVICE...\n  Stops services (SIGTERM, the grace, then SIGKILL); returns once they are gone.\n  They stay stopped: not restarted, not a failure; the init keeps running.\n${WHERE}`,
  restart: `berth restart [--state-dir DIR] SERVICE...\n  Stops, then starts each service.\n${WHERE}`,
  signal: `berth signal [--state-dir DIR] SIGNAL SERVICE...\n  Sends SIGNAL (HUP, SIGHUP or a number) to each service's main process.\n${WHERE}`,
  run: `berth run [--state-dir DIR] JOB\n  Runs a scheduled job now, under its concurrency rule; waits for the run and exits with its exit code\n  (1 when the run is refused: concurrency: forbid and a run is going).\n${WHERE}`,
};

export async function controlCommand(op: ActionOp, args: string[]): Promise<number> {
  const parsed = parseArgs(args, ['--state-dir']);
  const names = [...parsed.positionals];
  let signal: string | undefined;
  if (op === 'signal') {
    signal = names.shift();
    if (signal === undefined) throw new UsageError('name a SIGNAL and at least one SERVICE');
    if (!parseSignal(signal)) throw new UsageError(`unknown signal '${signal}' (use a name like HUP or SIGHUP, or a number)`);
  }
  if (!names.length) throw new UsageError(op === 'run' ? 'name the JOB to run' : 'name at least one SERVICE');
  if (op === 'run' && names.length > 1) throw new UsageError('run takes one JOB');
  const dir = stateDirOf(parsed);
  try {
    const response = await request(dir, { op, services: names, ...(signal === undefined ? {} : { signal }) });
    if (!response.ok) {
      process.stderr.write(`berth ${op}: ${response.error}\n`);
      return response.kind === 'shutting-down' || response.kind === 'unavailable' ? 1 : 2;
    }
    const results = response.result as ServiceResult[];
    for (const r of results) (r.ok ? process.stdout : process.stderr).write(`${r.service}: ${r.message}\n`);
    // a run that ended carries its exit code, failed or not; a refused one has none
    if (op === 'run') return results[0].code ?? (results[0].ok ? 0 : 1);
    return results.every((r) => r.ok) ? 0 : 1;
  } catch (err) {
    if (!(err instanceof NoInit)) throw err;
    process.stderr.write(`berth ${op}: ${err.message}\n`);
    return 2;
  }
}

export const reloadUsage = `berth reload [--state-dir DIR]
  The init re-reads its manifest: added services start, removed ones stop, changed ones
  restart, the others keep running. A manifest that does not validate changes nothing
  (exit 1, its problems printed).
${WHERE}`;

export async function reloadCommand(args: string[]): Promise<number> {
  const parsed = parseArgs(args, ['--state-dir']);
  if (parsed.positionals.length) throw new UsageError('reload takes no arguments');
  const dir = stateDirOf(parsed);
  try {
    const response = await request(dir, { op: 'reload' });
    if (!response.ok) {
      process.stderr.write(response.kind === 'invalid-manifest' ? `${response.error}\nberth reload: the manifest does not validate; nothing changed\n` : `berth reload: ${response.error}\n`);
      return 1;
    }
    const r = response.result as ReloadResult;
    const list = (what: string, names: string[]): string[] => (names.length ? [`${what} ${names.join(', ')}`] : []);
    const parts = [...list('added', r.added), ...list('removed', r.removed), ...list('restarted', r.restarted), `${r.unchanged} unchanged`];
    process.stdout.write(`reloaded: ${parts.join('; ')}\n`);
    return 0;
  } catch (err) {
    if (!(err instanceof NoInit)) throw err;
    process.stderr.write(`berth reload: ${err.message}\n`);
    return 2;
  }
}
