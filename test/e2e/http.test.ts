// The HTTP endpoint: /healthz, /readyz and /metrics, read with curl and a
// Prometheus text-format parser.
import test from 'ava';
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runBerth, startInit, tempDir } from '../helpers/init.js';

interface Family { name: string; type: string; metrics: Array<{ value: string; labels?: Record<string, string> }> }
const parsePrometheus = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => Family[];

const port = (): number => 20_000 + Math.floor(Math.random() * 20_000);

function curl(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    execFile('curl', ['-s', '-w', '\n%{http_code}', url], (_err, stdout) => {
      const at = stdout.lastIndexOf('\n');
      resolve({ status: Number(stdout.slice(at + 1)), body: stdout.slice(0, at) });
    });
  });
}

async function until<T>(f: () => Promise<T>, ok: (v: T) => boolean, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (ok(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}

const sample = (families: Family[], name: string, service: string, extra: Record<string, string> = {}): number => {
  const m = families.find((f) => f.name === name)?.metrics.find((x) => x.labels?.service === service && Object.entries(extra).every(([k, v]) => x.labels?.[k] === v));
  return m ? Number(m.value) : Number.NaN;
};

test('BERTH_HTTP serves /readyz once every long-run is ready, /healthz until an essential service fails, and /metrics', async (t) => {
  const dir = tempDir();
  const p = port();
  const base = `http://127.0.0.1:${p}`;
  const init = startInit({
    dir,
    env: { BERTH_HTTP: `127.0.0.1:${p}`, S6_DONT_TERMINATE_ON_ERROR: '1' },
    manifest: {
      version: 1,
      services: {
        db: { script: `while [ ! -f ${dir}/go ]; do sleep 0.05; done; echo >&3; exec sleep 60`, readiness: { notificationFd: 3 } },
        big: { execStart: [process.execPath, '-e', "globalThis.b = Buffer.alloc(30 * 1024 * 1024, 1); setInterval(() => {}, 1000)"] },
        flaky: { script: `while [ ! -f ${dir}/fail ]; do sleep 0.05; done; exit 5` },
      },
    },
  });
  t.teardown(() => init.cleanup());
  await init.waitFor(`serving /healthz, /readyz and /metrics on 127.0.0.1:${p}`);
  const notReady = await curl(`${base}/readyz`);
  t.is(notReady.status, 503);
  t.is(notReady.body, 'not ready: db (starting)\n');
  t.is((await curl(`${base}/healthz`)).status, 200);
  writeFileSync(join(dir, 'go'), '');
  const ready = await until(() => curl(`${base}/readyz`), (r) => r.status === 200);
  t.is(ready.body, 'ready\n');

  // the buffer is touched a moment after the process starts
  const metrics = await until(() => curl(`${base}/metrics`), (r) => sample(parsePrometheus(r.body), 'berth_service_memory_bytes', 'big') > 30 * 2 ** 20);
  const families = parsePrometheus(metrics.body);
  t.deepEqual(families.map((f) => f.name).filter((n) => n.startsWith('berth_')).length, families.length, 'every name starts with berth_');
  t.is(sample(families, 'berth_service_up', 'db'), 1);
  t.is(sample(families, 'berth_service_ready', 'db'), 1);
  t.is(sample(families, 'berth_service_state', 'db', { state: 'up' }), 1);
  t.is(sample(families, 'berth_service_state', 'db', { state: 'starting' }), 0);
  t.true(sample(families, 'berth_service_memory_bytes', 'big') > 30 * 2 ** 20, 'the 30 MB service shows its memory');
  t.true(sample(families, 'berth_service_cpu_seconds_total', 'big') >= 0);
  t.is(families.find((f) => f.name === 'berth_service_restarts_total')?.type, 'COUNTER');
  t.true(Number(families.find((f) => f.name === 'berth_init_memory_bytes')?.metrics[0].value) > 10 * 2 ** 20);

  writeFileSync(join(dir, 'fail'), '');
  const unhealthy = await until(() => curl(`${base}/healthz`), (r) => r.status === 503);
  t.is(unhealthy.status, 503);
  t.is(unhealthy.body, 'failed: flaky\n');
  t.is((await curl(`${base}/nope`)).status, 404);
});

test('http.listen in the manifest works like BERTH_HTTP; a bad BERTH_HTTP starts nothing', async (t) => {
  const p = port();
  const init = startInit({ manifest: { version: 1, http: { listen: `127.0.0.1:${p}` }, services: { s: { script: 'exec sleep 60' } } } });
  t.teardown(() => init.cleanup());
  await init.waitFor('all stages done');
  const r = await until(() => curl(`http://127.0.0.1:${p}/readyz`), (x) => x.status === 200);
  t.is(r.status, 200);
  const dir = tempDir();
  writeFileSync(join(dir, 'm.json'), JSON.stringify({ version: 1, services: { s: { script: 'echo RAN' } } }));
  const bad = await runBerth(['init', join(dir, 'state'), '--manifest', join(dir, 'm.json')], { env: { BERTH_HTTP: 'localhost' } });
  t.is(bad.code, 2);
  t.regex(bad.stderr, /BERTH_HTTP must be HOST:PORT/);
  t.notRegex(bad.stdout, /RAN/);
});
