// The status page's answers, from a stand-in for the init's control
// answers: /status.json is berth status --json's rows, /logs/NAME the kept
// lines, and no secret value leaves through any of them.
import test from 'ava';
import { keepSecret, redact } from '../../src/config/redact.js';
import type { PageAnswer } from '../../src/control/http.js';
import type { StatusRecord } from '../../src/control/state-dir.js';
import { statusPage, type PageSource } from '../../src/page/status-page.js';

const SECRET = 'hunter2-the-password';
keepSecret([SECRET]);

const record = (name: string, over: Partial<StatusRecord> = {}): StatusRecord => ({ name, type: 'long-run', state: 'up', want: 'up', pid: process.pid, since: new Date().toISOString(), restarts: 0, lastExit: null, ready: null, ...over });

function source(kept: Record<string, string | null>, records: StatusRecord[]): PageSource {
  return {
    status: () => ({ init: { pid: 1, phase: 'running' }, services: records }),
    names: () => Object.keys(kept),
    logs: (name) => ({ recent: kept[name] === null ? null : { last: (n: number) => Buffer.from(kept[name]!.split(/(?<=\n)/).slice(-n).join('')) }, follow: () => () => {} }),
  };
}

const page = statusPage(source({ web: '<script>alert(1)</script>\nsecond line\n', quiet: null, leaky: `the password is ${SECRET}\n` }, [record('web', { statusText: `connected with ${SECRET}` }), record('quiet', { pid: null, state: 'stopped' })]), redact);

test('/status.json is what berth status --json prints, with the init phase and start in its headers', async (t) => {
  const a = await page('/status.json', '');
  t.is(a.status, 200);
  t.is(a.type, 'application/json');
  t.true(a.body.endsWith('\n'));
  const rows = JSON.parse(a.body) as Array<Record<string, unknown>>;
  t.deepEqual(rows.map((r) => [r.name, r.state, typeof r.cpu, typeof r.memory]), [['web', 'up', 'number', 'number'], ['quiet', 'stopped', 'number', 'number']]);
  t.true((rows[0].memory as number) > 0, 'this process has memory');
  t.is(a.body, `${JSON.stringify(rows, null, 2)}\n`, 'indented as berth status --json prints it');
  t.is(a.headers?.['berth-init-phase'], 'running');
  t.regex(a.headers?.['berth-init-started'] ?? '', /^\d{4}-\d\d-\d\dT.*Z$/);
  t.is(a.headers?.['cache-control'], 'no-store');
});

test('requests that come together share one CPU window', async (t) => {
  const fresh = statusPage(source({ web: '' }, [record('web')]), redact);
  const started = performance.now();
  const [a, b] = await Promise.all([fresh('/status.json', ''), fresh('/status.json', '')]);
  t.true(performance.now() - started >= 240, 'the first request waits for a window, as berth status does');
  t.is(a.body, b.body);
});

test('/logs/NAME is the last lines kept, as text a browser never reads as HTML', async (t) => {
  const a = (await page('/logs/web', '')) as PageAnswer;
  t.is(a.status, 200);
  t.is(a.type, 'text/plain; charset=utf-8');
  t.is(a.headers?.['x-content-type-options'], 'nosniff');
  t.is(a.body, '<script>alert(1)</script>\nsecond line\n');
  t.is((await page('/logs/web', 'lines=1')).body, 'second line\n');
});

test('/logs/NAME refuses an unknown service (did you mean), a bad line count, and says when nothing is kept', async (t) => {
  t.deepEqual(pick(await page('/logs/wbe', '')), [404, "unknown service 'wbe'; did you mean 'web'?\n"]);
  t.deepEqual(pick(await page('/logs/web', 'lines=-1')), [400, "lines must be a whole number from 0 to 1000000, not '-1'\n"]);
  t.deepEqual(pick(await page('/logs/%E0%A4%A', '')), [400, "'%E0%A4%A' is not a service name\n"]);
  t.deepEqual(pick(await page('/logs/quiet', '')), [404, "quiet logs with format passthrough: it writes straight to the init's stdout, so the init keeps none of its output\n"]);
});

test('no secret value is shown: not in the page, the JSON or the logs', async (t) => {
  for (const [path, query] of [['/', ''], ['/status.json', ''], ['/logs/leaky', '']]) {
    const a = await page(path, query);
    t.false(a.body.includes(SECRET), path);
    t.true(a.body.includes('[secret]'), `${path} shows where it was`);
  }
});

test('the page is the table rendered into the document, served with its CSP', async (t) => {
  const a = await page('/', '');
  t.is(a.type, 'text/html; charset=utf-8');
  t.regex(a.headers?.['content-security-policy'] ?? '', /^default-src 'self'; script-src 'sha256-/);
  t.regex(a.body, /<tr data-name="web">/);
  t.regex(a.body, /<tr data-name="quiet">/);
  t.regex(a.body, /init pid 1 · <span id="phase">running<\/span>/);
  t.notRegex(a.body, /\{\{\w+\}\}/);
});

const pick = (a: PageAnswer): [number, string] => [a.status, a.body];
