// The status page's endpoints on a live init, over HTTP without a browser:
// read-only, /status.json is berth status --json, hostile output stays text,
// secrets stay masked, nothing listens without BERTH_HTTP, and the page's
// module loads only when someone asks for it. (In a browser:
// status-page-browser.test.ts.)
import test, { type ExecutionContext } from 'ava';
import { readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../helpers/doc-session.js';
import { runBerth, startInit, tempDir, type InitRun } from '../helpers/init.js';

const HOSTILE = '<script>alert(1)</script>';

async function withPage(t: ExecutionContext, services: Record<string, unknown>, env: Record<string, string> = {}): Promise<{ init: InitRun; base: string }> {
  const dir = tempDir();
  const port = await freePort();
  const init = startInit({ dir, env: { BERTH_HTTP: `127.0.0.1:${port}`, ...env }, manifest: { version: 1, services } });
  t.teardown(() => init.cleanup());
  await init.waitFor(`serving /healthz, /readyz and /metrics on 127.0.0.1:${port}, and the status page at /`);
  return { init, base: `http://127.0.0.1:${port}` };
}

test('every other method gets 405 with an Allow header, on every path, and changes nothing', async (t) => {
  const { init, base } = await withPage(t, { web: { script: 'exec sleep 60' } });
  await init.waitFor('web: started');
  for (const path of ['/', '/status.json', '/logs/web', '/healthz', '/metrics']) {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const r = await fetch(base + path, { method, body: method === 'DELETE' ? undefined : '{}' });
      t.is(r.status, 405, `${method} ${path}`);
      t.is(r.headers.get('allow'), 'GET, HEAD', `${method} ${path}`);
      t.is(await r.text(), `${method} is not allowed: this endpoint only reads (GET or HEAD)\n`);
    }
  }
  const head = await fetch(`${base}/`, { method: 'HEAD' });
  t.is(head.status, 200);
  t.is(await head.text(), '');
  const [web] = (await (await fetch(`${base}/status.json`)).json()) as Array<{ state: string; restarts: number }>;
  t.like(web, { state: 'up', restarts: 0 });
  t.notRegex(init.output(), /web: (sending|stopped|exited)/);
});

test('/status.json serves what berth status --json prints, byte for byte but for the CPU and memory sampled', async (t) => {
  const { init, base } = await withPage(t, {
    web: { script: 'exec sleep 60' },
    worker: { script: 'exec sleep 60', restart: 'on-failure' },
    done: { type: 'oneshot-pre', script: 'true' },
    job: { type: 'scheduled', schedule: '@every 1h', script: 'true' },
  });
  await init.waitFor('all stages done');
  const ran = await runBerth(['status', '--json', '--state-dir', init.stateDir]);
  const served = await fetch(`${base}/status.json`);
  t.is(served.status, 200);
  t.is(served.headers.get('content-type'), 'application/json');
  t.is(served.headers.get('berth-init-phase'), 'running');
  const sampled = (text: string): string => text.replace(/"(cpu|memory)": [\d.]+/g, '"$1": N');
  t.is(sampled(await served.text()), sampled(ran.stdout));
  t.is(ran.code, 0);
});

test('a service printing markup: /logs/NAME returns it as plain text a browser never sniffs as HTML, and the page holds none of it', async (t) => {
  const { init, base } = await withPage(t, { noisy: { script: `echo '${HOSTILE}'; echo second; exec sleep 60` } });
  await init.waitFor('second');
  const logs = await fetch(`${base}/logs/noisy`);
  t.is(logs.status, 200);
  t.is(logs.headers.get('content-type'), 'text/plain; charset=utf-8');
  t.is(logs.headers.get('x-content-type-options'), 'nosniff');
  t.is(await logs.text(), `${HOSTILE}\nsecond\n`);
  t.is(await (await fetch(`${base}/logs/noisy?lines=1`)).text(), 'second\n');
  const missing = await fetch(`${base}/logs/nosiy`);
  t.is(missing.status, 404);
  t.is(await missing.text(), "unknown service 'nosiy'; did you mean 'noisy'?\n");
  const page = await fetch(`${base}/`);
  t.regex(page.headers.get('content-security-policy') ?? '', /^default-src 'self'; script-src 'sha256-[^']+'; style-src 'sha256-[^']+'/);
  t.false((await page.text()).includes(HOSTILE));
});

test('a secret from environmentFromFiles shows on neither the page, /status.json nor /logs/NAME, even when the service prints it', async (t) => {
  const dir = tempDir();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const secret = 'sk-live-0123456789abcdef';
  writeFileSync(join(dir, 'api_key'), `${secret}\n`);
  const { base } = await withPage(t, {
    app: {
      environmentFromFiles: { API_KEY: join(dir, 'api_key') },
      readiness: { notify: true },
      script: 'echo "my key is $API_KEY"; systemd-notify --ready --status="using key $API_KEY"; exec sleep 60',
    },
  });
  const json = await waitForText(`${base}/status.json`, (text) => text.includes('"statusText": "using key [secret]"'));
  const logs = await waitForText(`${base}/logs/app`, (text) => text.includes('my key is'));
  const page = await (await fetch(`${base}/`)).text();
  for (const [what, text] of [['/status.json', json], ['/logs/app', logs], ['/', page]]) t.false(text.includes(secret), what);
  t.is(logs, 'my key is [secret]\n');
  t.true(page.includes('using key [secret]'), 'the page shows the STATUS=, masked');
});

test('without BERTH_HTTP the init listens on no TCP port', async (t) => {
  const init = startInit({ env: { BERTH_HTTP: undefined }, manifest: { version: 1, services: { web: { script: 'exec sleep 60' } } } });
  t.teardown(() => init.cleanup());
  await init.waitFor('all stages done');
  const pid = await init.initPid();
  const sockets = new Set(readdirSync(`/proc/${pid}/fd`).flatMap((fd) => /^socket:\[(\d+)\]$/.exec(safeReadlink(`/proc/${pid}/fd/${fd}`))?.[1] ?? []));
  t.true(sockets.size > 0, 'the control channel is a socket of its');
  const listening = ['tcp', 'tcp6'].flatMap((f) =>
    readFileSync(`/proc/${pid}/net/${f}`, 'utf8')
      .split('\n')
      .slice(1)
      .map((l) => l.trim().split(/\s+/))
      .filter((c) => c[3] === '0A')
      .map((c) => c[9]),
  );
  t.deepEqual(listening.filter((inode) => sockets.has(inode)), []);
  t.notRegex(init.output(), /serving \/healthz/);
});

test('the page module is loaded on the first request for the page, not for /healthz or /metrics, and once', async (t) => {
  const { init, base } = await withPage(t, { web: { script: 'exec sleep 60' } }, { BERTH_DEBUG: '1' });
  for (const path of ['/healthz', '/readyz', '/metrics', '/nope']) await (await fetch(base + path)).text();
  t.notRegex(init.output(), /status page loaded/);
  await (await fetch(`${base}/status.json`)).text();
  await (await fetch(`${base}/`)).text();
  await (await fetch(`${base}/logs/web`)).text();
  await init.waitFor('debug: status page loaded, on its first request');
  t.is(init.output().match(/status page loaded/g)?.length, 1);
});

function safeReadlink(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return ''; // closed meanwhile
  }
}

/** GETs `url` until its text satisfies `ok` (a service's STATUS= or line may come a moment after it started). */
async function waitForText(url: string, ok: (text: string) => boolean, timeoutMs = 15_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await (await fetch(url)).text();
    if (ok(text) || Date.now() > deadline) return text;
    await new Promise((r) => setTimeout(r, 100));
  }
}
