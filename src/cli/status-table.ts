// `berth status` as text: an aligned table, coloured by state on a terminal.
import { formatBytes, formatDuration, RUNNING_STATES as RUNNING, type StatusRow } from '../control/status-rows.js';

const COLOURS: Record<string, string> = { up: '32', running: '32', starting: '33', backoff: '33', stopping: '33', failed: '31', stopped: '2', finished: '2', down: '2', waiting: '2' };

export function renderTable(rows: StatusRow[], now: number, colour: boolean): string {
  // STATUS (what sd_notify's STATUS= said) only where a service said something: other tables stay as they were
  const said = rows.some((r) => typeof r.statusText === 'string');
  const header = ['NAME', 'TYPE', 'STATE', 'PID', 'UPTIME', 'RESTARTS', 'READY', 'CPU', 'MEM', ...(said ? ['STATUS'] : [])];
  const cells = rows.map((r): string[] => {
    const running = RUNNING.has(r.state);
    const row = [
      r.name,
      r.type,
      r.state,
      r.pid === null ? '-' : String(r.pid),
      running ? formatDuration(now - Date.parse(r.since)) : '-',
      String(r.restarts),
      r.ready === null ? '-' : r.ready ? 'yes' : 'no',
      running ? `${r.cpu.toFixed(1)}%` : '-',
      // against its limit, where it has one: the amount the limit counts
      running ? `${formatBytes(r.memory)}${r.limits?.memory === undefined ? '' : `/${formatBytes(r.limits.memory)}`}` : '-',
    ];
    return said ? [...row, r.statusText ?? '-'] : row;
  });
  const services = aligned(header, cells, colour ? rows.map((r) => r.state) : undefined);
  const jobs = rows.filter((r) => r.schedule !== undefined);
  return jobs.length ? `${services}\n\n${jobTable(jobs, now)}` : services;
}

/** A job's schedule and runs: the second table of `berth status`, below the services. */
function jobTable(jobs: StatusRow[], now: number): string {
  const header = ['JOB', 'SCHEDULE', 'NEXT RUN', 'LAST RUN', 'TOOK', 'RESULT', 'FAILURES', 'SKIPPED'];
  const cells = jobs.map((r): string[] => {
    const last = r.lastRun ?? null;
    const next = r.nextRun ? Date.parse(r.nextRun) - now : undefined;
    return [
      r.name,
      r.schedule!,
      next === undefined ? '-' : `in ${formatDuration(Math.max(0, next) + 999)}`,
      last ? `${formatDuration(now - Date.parse(last.start))} ago` : '-',
      !last ? '-' : last.durationMs === null ? 'running' : formatMs(last.durationMs),
      !last || last.durationMs === null ? '-' : last.signal ? last.signal : `code ${last.code}`,
      String(r.consecutiveFailures ?? 0),
      String(r.skipped ?? 0),
    ];
  });
  return aligned(header, cells);
}

/** Columns padded to their widest cell, two spaces apart; given `states`, the third column coloured by them (a terminal). */
function aligned(header: string[], cells: string[][], states?: string[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[], state?: string): string =>
    c
      .map((text, i) => {
        const padded = i === c.length - 1 ? text : text.padEnd(widths[i]);
        return i === 2 && state ? `\x1b[${COLOURS[state] ?? '0'}m${padded}\x1b[0m` : padded;
      })
      .join('  ')
      .trimEnd();
  return [line(header), ...cells.map((c, i) => line(c, states?.[i]))].join('\n');
}

/** A run's duration: 12ms, 1.2s, 3m04s. */
function formatMs(ms: number): string {
  return ms < 1000 ? `${ms}ms` : ms < 60_000 ? `${(ms / 1000).toFixed(1)}s` : formatDuration(ms);
}
