// The status page's server-rendered table: what each cell says, and that no
// value can become markup.
import test from 'ava';
import type { StatusRow } from '../../src/control/status-rows.js';
import { escapeHtml, renderRows, tableClass } from '../../src/page/table.js';

const now = Date.parse('2026-12-05T12:00:00Z');
const row = (over: Partial<StatusRow>): StatusRow => ({
  name: 'web', type: 'long-run', state: 'up', want: 'up', pid: 42, since: '2026-12-05T11:58:55Z', restarts: 0, lastExit: null, ready: null, cpu: 1.25, memory: 45 * 2 ** 20, ...over,
});
const cellOf = (html: string, column: string): string => new RegExp(`<td data-col="${column}"[^>]*>(.*?)</td>`).exec(html)?.[1] ?? '';

test('a running service shows its pid, uptime, restarts, CPU and memory as berth status words them', (t) => {
  const html = renderRows([row({ ready: true, restarts: 2, limits: { memory: 256 * 2 ** 20 } })], now);
  t.is(cellOf(html, 'state'), '<span class="state s-up">up</span>');
  t.is(cellOf(html, 'pid'), '42');
  t.is(cellOf(html, 'uptime'), '1m05s');
  t.is(cellOf(html, 'restarts'), '2');
  t.is(cellOf(html, 'ready'), 'yes');
  t.is(cellOf(html, 'cpu'), '1.3%');
  t.is(cellOf(html, 'memory'), '45M/256M', 'against its limit');
  t.is(cellOf(html, 'log'), '<a href="logs/web" aria-label="Recent log lines of web">log</a>');
});

test('a failed or backing-off service stands out and says how it last exited; one not running shows dashes', (t) => {
  const html = renderRows([row({ state: 'backoff', pid: null, lastExit: { code: 3, signal: null, at: '2026-12-05T11:59:59Z' } }), row({ name: 'db', state: 'failed', pid: null, lastExit: { code: null, signal: 'SIGKILL', at: '', reason: 'oom' } }), row({ name: 'old', state: 'stopped', pid: null })], now);
  const rows = html.split('\n');
  t.regex(rows[0], /^<tr data-name="web" class="attention">/);
  t.is(cellOf(rows[0], 'state'), '<span class="state s-backoff">backoff</span><span class="why">code 3</span>');
  t.is(cellOf(rows[1], 'state'), '<span class="state s-failed">failed</span><span class="why">oom, killed by SIGKILL</span>');
  t.regex(rows[2], /^<tr data-name="old"><td/);
  for (const column of ['pid', 'uptime', 'cpu', 'memory']) t.is(cellOf(rows[2], column), '-', column);
});

test("a scheduled job shows its last and next run, and the table shows those columns only when there is a job", (t) => {
  const job = row({ name: 'backup', type: 'scheduled', state: 'waiting', pid: null, schedule: '@every 1m', nextRun: '2026-12-05T12:00:30Z', lastRun: { start: '2026-12-05T11:59:30Z', durationMs: 1500, code: 0, signal: null } });
  const html = renderRows([job], now);
  t.is(cellOf(html, 'last'), '30s ago<span class="why">code 0, took 1.5s</span>');
  t.is(cellOf(html, 'next'), 'in 30s');
  t.is(tableClass([job]), 'jobs');
  t.is(tableClass([row({})]), '');
});

test('values are escaped: a hostile STATUS= or name cannot become markup', (t) => {
  const html = renderRows([row({ name: 'a"b', statusText: '<script>alert(1)</script> & <img src=x onerror=alert(2)>' })], now);
  t.notRegex(html, /<script|<img/);
  t.true(html.includes('<span class="why">&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;img src=x onerror=alert(2)&gt;</span>'));
  t.true(html.includes('data-name="a&quot;b"'));
  t.true(html.includes('href="logs/a%22b"'));
  t.is(escapeHtml(`<>&"'`), '&lt;&gt;&amp;&quot;&#39;');
});
