// The status page in a real browser (Debian's headless chromium, over the
// DevTools protocol): a live init's services and states, a restart seen
// without a reload, log lines shown as text, nothing asked of another origin,
// a static table without JavaScript, and a layout that fits a phone and a
// terminal-sized window. Screenshots are kept in dist/test/artifacts/.
import test, { type ExecutionContext } from 'ava';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { launchBrowser, noChromium, type Browser, type Page } from '../helpers/chromium.js';
import { freePort } from '../helpers/doc-session.js';
import { root, startInit, type InitRun } from '../helpers/init.js';

// one browser at a time: four chromiums at once on two cores starved the timing-bound tests of the files beside this one
const browserTest = noChromium ? test.skip : test.serial;
const skipped = noChromium ? ` (skipped: ${noChromium})` : '';
const artifacts = join(root, 'dist/test/artifacts');

const HOSTILE = '<script>alert(1)</script>';

/** A small app with one service in each kind of state the page colours. */
const services = {
  migrate: { type: 'oneshot-pre', script: 'echo migrated' },
  web: { readiness: { notify: true }, script: `echo '${HOSTILE}'; echo listening; systemd-notify --ready --status='<img src=x onerror=alert(2)> serving'; exec sleep 600` },
  worker: { script: 'exec sleep 600', restart: 'on-failure' },
  flaky: { script: 'sleep 0.3; echo "lost the queue" >&2; exit 3', restart: 'on-failure', essential: false },
  report: { type: 'scheduled', schedule: '@every 1h', script: 'echo report' },
};

interface Row {
  name: string;
  state: string;
  pid: string;
  restarts: string;
}

const ROWS = `[...document.querySelectorAll('#services tbody tr')].map((tr) => ({
  name: tr.dataset.name,
  state: tr.querySelector('[data-col=state] .state').textContent,
  pid: tr.querySelector('[data-col=pid]').textContent,
  restarts: tr.querySelector('[data-col=restarts]').textContent,
}))`;
/** true once the script has refreshed the table at least once */
const REFRESHED = `document.getElementById('updated').textContent.startsWith('updated')`;

async function setUp(t: ExecutionContext): Promise<{ init: InitRun; base: string; browser: Browser }> {
  const port = await freePort();
  const init = startInit({ env: { BERTH_HTTP: `127.0.0.1:${port}`, S6_DONT_TERMINATE_ON_ERROR: '1' }, manifest: { version: 1, services } });
  t.teardown(() => init.cleanup());
  await init.waitFor('all stages done');
  const browser = await launchBrowser();
  t.teardown(() => browser.close());
  return { init, base: `http://127.0.0.1:${port}`, browser };
}

function keep(t: ExecutionContext, name: string, png: Buffer): void {
  mkdirSync(artifacts, { recursive: true });
  writeFileSync(join(artifacts, name), png);
  t.log(`screenshot: ${join(artifacts, name)}`);
}

async function served(base: string): Promise<Array<{ name: string; state: string; pid: number | null; restarts: number }>> {
  return (await (await fetch(`${base}/status.json`)).json()) as Array<{ name: string; state: string; pid: number | null; restarts: number }>;
}

browserTest(`the page shows every service with its state, and a killed service's restart without a reload, asking nothing of another origin${skipped}`, async (t) => {
  const { base, browser } = await setUp(t);
  const page = await browser.open(`${base}/`);
  await page.waitFor(REFRESHED);
  const rows = await page.evaluate<Row[]>(ROWS);
  t.deepEqual(rows.map((r) => r.name), ['migrate', 'web', 'worker', 'flaky', 'report']);
  const states = Object.fromEntries(rows.map((r) => [r.name, r.state]));
  t.like(states, { migrate: 'finished', web: 'up', worker: 'up', report: 'waiting' });
  t.true(['up', 'backoff'].includes(states.flaky), `flaky is ${states.flaky}`);
  t.regex(await page.evaluate<string>(`document.querySelector('tr[data-name=report] [data-col=next]').textContent`), /^in (59m|1h)/);
  t.is(await page.evaluate<string>(`document.querySelector('tr[data-name=web] [data-col=name] .why').textContent`), '<img src=x onerror=alert(2)> serving', 'STATUS= shown as text');

  // a mark the page keeps until it is reloaded
  await page.evaluate('window.notReloaded = true');
  const worker = (await served(base)).find((s) => s.name === 'worker')!;
  process.kill(worker.pid!, 'SIGKILL');
  const after = await page.waitFor<Row>(`(${ROWS}).find((r) => r.name === 'worker' && r.restarts === '1' && r.state === 'up' && r.pid !== '${worker.pid}')`);
  t.not(after.pid, String(worker.pid));
  t.true(await page.evaluate<boolean>('window.notReloaded === true'), 'updated in place');
  t.true(await page.evaluate<boolean>(`document.querySelector('tr[data-name=flaky]').classList.contains('attention') || (${ROWS}).find((r) => r.name === 'flaky').state === 'up'`), 'a backing-off service stands out');
  await page.waitFor(`document.querySelectorAll('tr[data-name=web] svg.spark').length === 2`, 10_000);
  t.regex(await page.evaluate<string>(`document.querySelector('tr[data-name=web] [data-col=memory] svg').getAttribute('aria-label')`), /^Memory, last \d+s: [\d.]+[KM] to [\d.]+[KM]$/);

  const foreign = page.requests.filter((url) => new URL(url).origin !== base);
  t.deepEqual(foreign, [], 'every request goes to the init');
  t.true(page.requests.filter((url) => url === `${base}/status.json`).length >= 2, 'it polls /status.json');
  t.deepEqual(page.dialogs, [], 'nothing the services wrote ran');
  keep(t, 'status-page.png', await page.screenshot());
});

browserTest(`a click on a service's log link shows its recent lines as text: a line of markup runs nothing; an init gone is said${skipped}`, async (t) => {
  const { init, base, browser } = await setUp(t);
  await init.waitFor('listening');
  const page = await browser.open(`${base}/`);
  await page.waitFor(REFRESHED);
  t.is(await page.evaluate<string>(`document.querySelector('tr[data-name=web] a').getAttribute('aria-label')`), 'Recent log lines of web');
  await page.evaluate(`document.querySelector('tr[data-name=web] a').click()`);
  const text = await page.waitFor<string>(`!document.getElementById('log').hidden && document.getElementById('log-lines').textContent`);
  t.true(text.startsWith(`${HOSTILE}\nlistening\n`), text);
  t.is(await page.evaluate<string>(`document.getElementById('log-title').textContent`), 'Recent lines of web');
  t.is(await page.evaluate<number>(`document.querySelectorAll('#log script, #log img').length`), 0);
  t.deepEqual(page.dialogs, []);
  t.true(page.requests.includes(`${base}/logs/web`));
  await page.evaluate(`document.getElementById('log-close').click()`);
  t.true(await page.evaluate<boolean>(`document.getElementById('log').hidden`));

  await init.signal('SIGTERM');
  await init.exited;
  t.regex(await page.waitFor<string>(`document.getElementById('lost').textContent`), /^cannot update \(.+\); trying again every 2 s$/);
});

browserTest(`without JavaScript the page is the same table, static: every service and its state${skipped}`, async (t) => {
  const { base, browser } = await setUp(t);
  const still = await browser.open(`${base}/`, undefined, false);
  const rows = await still.evaluate<Row[]>(ROWS);
  t.deepEqual(rows.map((r) => [r.name, r.state]).filter(([name]) => name !== 'flaky'), [['migrate', 'finished'], ['web', 'up'], ['worker', 'up'], ['report', 'waiting']]);
  t.regex(await still.evaluate<string>(`document.getElementById('updated').textContent`), /^as of \d\d:\d\d:\d\d UTC/);
  t.is(await still.evaluate<string>(`document.querySelector('tr[data-name=web] a').getAttribute('href')`), 'logs/web', 'the log link leads to the lines themselves');
  t.deepEqual(still.requests.filter((url) => url !== `${base}/favicon.ico`), [`${base}/`], 'one request, the document (the favicon aside)');
  // the script renders each cell as the init did: the columns that do not move in a few seconds match
  const steady = `[...document.querySelectorAll('#services tbody tr:not([data-name=flaky]) td:not([data-col=uptime]):not([data-col=cpu]):not([data-col=memory]):not([data-col=next])')].map((td) => td.innerHTML)`;
  const live = await browser.open(`${base}/`);
  await live.waitFor(REFRESHED);
  t.deepEqual(await live.evaluate<string[]>(steady), await still.evaluate<string[]>(steady));
});

browserTest(`on a phone and in a terminal-sized window every value is there and nothing runs off the side${skipped}`, async (t) => {
  const { base, browser } = await setUp(t);
  for (const [width, height, name] of [[390, 844, 'status-page-phone.png'], [640, 384, 'status-page-terminal.png']] as const) {
    const page: Page = await browser.open(`${base}/`, { width, height });
    await page.waitFor(REFRESHED);
    t.true(await page.evaluate<boolean>(`document.documentElement.scrollWidth <= ${width}`), `${width} px: no sideways scroll (${await page.evaluate<number>('document.documentElement.scrollWidth')})`);
    const labels = await page.evaluate<string[]>(`[...document.querySelectorAll('tr[data-name=worker] td')].filter((td) => getComputedStyle(td).display !== 'none').map((td) => getComputedStyle(td, '::before').content)`);
    if (width < 600) t.deepEqual(labels, ['none', '"type "', '"state "', '"pid "', '"up "', '"restarts "', '"ready "', '"cpu "', '"mem "', 'none'], 'each value named on a card');
    keep(t, name, await page.screenshot());
  }
});
