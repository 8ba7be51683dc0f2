// `berth logs SERVICE [-n N] [-f]`: the last lines the init kept of a
// service's output, then, with -f, what it writes from now on.
import { NoInit, requestLogs } from '../control/client.js';
import { DEFAULT_LOG_LINES, MAX_LOG_LINES } from '../control/protocol.js';
import { parseArgs, UsageError } from './args.js';
import { stateDirOf } from './locations.js';

export const usage = `berth logs [--state-dir DIR] SERVICE [-n N] [-f]
  Prints the last N lines (default ${DEFAULT_LOG_LINES}) the init kept of SERVICE's output
  (up to 64 KiB of it), as the service wrote them; with an execLogger, what the logger was given.
  -n, --lines N   how many lines (0: none, with -f only what comes next)
  -f, --follow    keep printing what the service writes until Ctrl-C or the init exits
  The state dir: --state-dir DIR, else $BERTH_STATE_DIR, else /run/berth.`;

export async function logsCommand(args: string[]): Promise<number> {
  const parsed = parseArgs(args, ['--state-dir', '-n', '--lines'], ['-f', '--follow']);
  if (parsed.positionals.length !== 1) throw new UsageError('name exactly one SERVICE');
  const [service] = parsed.positionals;
  const n = (parsed.flags.get('-n') ?? parsed.flags.get('--lines') ?? String(DEFAULT_LOG_LINES)) as string;
  if (!/^\d+$/.test(n) || Number(n) > MAX_LOG_LINES) throw new UsageError(`-n takes a whole number from 0 to ${MAX_LOG_LINES}, not '${n}'`);
  const follow = parsed.flags.has('-f') || parsed.flags.has('--follow');
  const dir = stateDirOf(parsed);
  try {
    const response = await requestLogs(dir, { op: 'logs', service, lines: Number(n), follow }, process.stdout);
    if (response.ok) return 0;
    process.stderr.write(`berth logs: ${response.error}\n`);
    return response.kind === 'unknown-service' || response.kind === 'bad-request' ? 2 : 1;
  } catch (err) {
    if (!(err instanceof NoInit)) throw err;
    process.stderr.write(`berth logs: ${err.message}\n`);
    return 2;
  }
}
