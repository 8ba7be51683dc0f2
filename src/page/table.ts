// The status page's table as HTML, rendered by the init so that the page
// reads without JavaScript: a row per service, its cells as the page's
// script (page.html) renders them on each refresh. Every value is escaped.
import type { JobRun } from '../control/state-dir.js';
import { formatBytes, formatDuration, RUNNING_STATES, type StatusRow } from '../control/status-rows.js';

/** States that need a look: the row stands out, and says how the service last exited. */
const ATTENTION = new Set(['failed', 'backoff']);

/** Each column: its key (the script's too), the name a card shows on a narrow screen, and its class. */
const COLUMNS = [
  ['name', '', ''],
  ['type', 'type', ''],
  ['state', 'state', ''],
  ['pid', 'pid', 'num'],
  ['uptime', 'up', 'num'],
  ['restarts', 'restarts', 'num'],
  ['ready', 'ready', ''],
  ['cpu', 'cpu', 'num'],
  ['memory', 'mem', 'num'],
  ['last', 'last run', 'job'],
  ['next', 'next run', 'job'],
  ['log', '', ''],
] as const;

type Column = (typeof COLUMNS)[number][0];

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]);
}

/** The table's rows; `now` is the init's clock, which uptimes and due times are counted on. */
export function renderRows(rows: StatusRow[], now: number): string {
  return rows.map((r) => renderRow(r, now)).join('\n');
}

/** The table's class: its job columns show only when a job is among the rows. */
export function tableClass(rows: StatusRow[]): string {
  return rows.some((r) => r.schedule !== undefined) ? 'jobs' : '';
}

function renderRow(r: StatusRow, now: number): string {
  const classes = [ATTENTION.has(r.state) ? 'attention' : '', r.schedule !== undefined ? 'is-job' : ''].filter(Boolean).join(' ');
  const texts = cells(r, now);
  const tds = COLUMNS.map(([column, label, cls]) => {
    const attributes = `data-col="${column}"${label ? ` data-label="${label}"` : ''}${cls ? ` class="${cls}"` : ''}`;
    return `<td ${attributes}>${column === 'log' ? logLink(r.name) : cell(texts[column], column === 'state' ? `s-${r.state}` : '')}</td>`;
  });
  return `<tr data-name="${escapeHtml(r.name)}"${classes ? ` class="${classes}"` : ''}>${tds.join('')}</tr>`;
}

/** A cell's text and the line under it that says why ('' for none). */
function cells(r: StatusRow, now: number): Record<Exclude<Column, 'log'>, [string, string]> {
  const running = RUNNING_STATES.has(r.state);
  const last = r.lastRun ?? null;
  const limit = r.limits?.memory === undefined ? '' : `/${formatBytes(r.limits.memory)}`;
  return {
    name: [r.name, r.statusText ?? ''],
    type: [r.type, ''],
    state: [r.state, ATTENTION.has(r.state) && r.lastExit ? `${r.lastExit.reason ? `${r.lastExit.reason}, ` : ''}${r.lastExit.signal ? `killed by ${r.lastExit.signal}` : `code ${r.lastExit.code}`}` : ''],
    pid: [r.pid === null ? '-' : String(r.pid), ''],
    uptime: [running ? formatDuration(now - Date.parse(r.since)) : '-', ''],
    restarts: [String(r.restarts), ''],
    ready: [r.ready === null ? '-' : r.ready ? 'yes' : 'no', ''],
    cpu: [running ? `${r.cpu.toFixed(1)}%` : '-', ''],
    memory: [running ? `${formatBytes(r.memory)}${limit}` : '-', ''],
    last: lastRun(last, now),
    next: [r.nextRun ? `in ${formatDuration(Math.max(0, Date.parse(r.nextRun) - now) + 999)}` : '-', ''],
  };
}

function lastRun(last: JobRun | null, now: number): [string, string] {
  if (!last) return ['-', ''];
  if (last.durationMs === null) return ['running', ''];
  const took = last.durationMs < 1000 ? `${last.durationMs}ms` : last.durationMs < 60_000 ? `${(last.durationMs / 1000).toFixed(1)}s` : formatDuration(last.durationMs);
  return [`${formatDuration(now - Date.parse(last.start))} ago`, `${last.signal ?? `code ${last.code}`}, took ${took}`];
}

function cell([text, why]: [string, string], stateClass: string): string {
  const main = stateClass ? `<span class="state ${stateClass}">${escapeHtml(text)}</span>` : escapeHtml(text);
  return why ? `${main}<span class="why">${escapeHtml(why)}</span>` : main;
}

/** A link to the service's recent lines: the text itself without JavaScript, shown below the table with it. */
function logLink(name: string): string {
  return `<a href="logs/${encodeURIComponent(name)}" aria-label="Recent log lines of ${escapeHtml(name)}">log</a>`;
}
