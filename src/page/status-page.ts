// The status page's answers (docs: README "The status page"): GET / the
// page, GET /status.json what `berth status --json` prints, GET /logs/NAME a
// service's recent lines. Loaded on the first request for one of them, never
// when nobody asks; it then keeps the document and each service's CPU
// seconds at the last sample, nothing else. Secret values are masked in the
// data before it is rendered (the page's own text is not theirs to garble).
// In the init this module is a bundle of its own (scripts/bundle-init.mjs),
// read from disk on that first request, so PID 1 holds none of its code
// until then; the mask is handed in, as that bundle's own copy of
// src/config/redact.ts would know no secret.
import { hostname } from 'node:os';
import type { PageAnswer, StatusPage } from '../control/http.js';
import { DEFAULT_LOG_LINES, MAX_LOG_LINES } from '../control/protocol.js';
import type { LogSource } from '../control/server.js';
import type { StatusRecord } from '../control/state-dir.js';
import { formatDuration, statusJson, statusRows, type StatusRow } from '../control/status-rows.js';
import { suggestion } from '../schema-language/did-you-mean.js';
import { CpuSampler } from './cpu-sampler.js';
import { loadDocument } from './document.js';
import { escapeHtml, renderRows, tableClass } from './table.js';

/** What the page reads of the init: the control channel's answers (src/supervisor/control-handler.ts). */
export interface PageSource {
  status(): { init: { pid: number; phase: string }; services: StatusRecord[] };
  names(): string[];
  logs(name: string): LogSource;
}

/** The shortest CPU window, as `berth status` samples: a shorter one says more about the sampling than the service. */
const SAMPLE_MS = 250;
/** A sample older than this starts a new window instead of closing one (nobody has watched for a while). */
const STALE_MS = 10_000;

const NO_CACHE = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' };

interface Snapshot {
  init: { pid: number; phase: string };
  rows: StatusRow[];
}

/** `mask`: the init's masking of secret values (src/config/redact.ts). */
export function statusPage(source: PageSource, mask: (text: string) => string): StatusPage {
  const document = loadDocument();
  const sampler = new CpuSampler();
  const started = new Date(performance.timeOrigin).toISOString();
  const pids = (services: StatusRecord[]): number[] => services.flatMap((s) => (s.pid === null ? [] : [s.pid]));

  const sample = async (): Promise<Snapshot> => {
    const age = sampler.age();
    if (age > STALE_MS) {
      // nobody has watched for a while: a window opens now, as berth status opens one
      sampler.sample(pids(source.status().services));
      await sleep(SAMPLE_MS);
    } else if (age < SAMPLE_MS) await sleep(SAMPLE_MS - age);
    const now = source.status();
    return { init: now.init, rows: statusRows(now.services, sampler.sample(pids(now.services))) };
  };
  /** requests that come together share one sample: a second one at once would measure a window of nothing */
  let pending: Promise<Snapshot> | undefined;
  const current = (): Promise<Snapshot> => (pending ??= sample().finally(() => (pending = undefined)));

  return async (path, query) => {
    if (path === '/status.json') {
      const { init, rows } = await current();
      // masked as the control channel masks berth status's answer: in its JSON text
      return { status: 200, type: 'application/json', body: mask(statusJson(rows)), headers: { ...NO_CACHE, 'berth-init-phase': init.phase, 'berth-init-started': started } };
    }
    if (path.startsWith('/logs/')) return logs(source, mask, path.slice('/logs/'.length), new URLSearchParams(query));
    const { init, rows: raw } = await current();
    // masked in the JSON text, as /status.json is: the document's own text is not the mask's to garble
    const rows = JSON.parse(mask(JSON.stringify(raw))) as StatusRow[];
    const now = Date.now();
    const host = escapeHtml(mask(hostname()));
    const body = document.fill({
      title: `${host} · berth`,
      heading: `berth on ${host}`,
      pid: String(init.pid),
      phase: escapeHtml(init.phase),
      uptime: formatDuration(now - Date.parse(started)),
      time: new Date(now).toISOString().slice(11, 19),
      tableClass: tableClass(rows),
      rows: renderRows(rows, now),
    });
    return { status: 200, type: 'text/html; charset=utf-8', body, headers: { ...NO_CACHE, 'content-security-policy': document.csp, 'referrer-policy': 'no-referrer' } };
  };
}

/** GET /logs/NAME[?lines=N]: the last N lines kept (default 100), as `berth logs NAME -n N` prints them, secret values masked. */
function logs(source: PageSource, mask: (text: string) => string, encoded: string, query: URLSearchParams): PageAnswer {
  const text = (status: number, body: string): PageAnswer => ({ status, type: 'text/plain; charset=utf-8', body, headers: NO_CACHE });
  let name: string;
  try {
    name = decodeURIComponent(encoded);
  } catch {
    return text(400, `'${encoded}' is not a service name\n`);
  }
  const names = source.names();
  if (!names.includes(name)) return text(404, `unknown service '${mask(name)}'${suggestion(name, names)}\n`);
  const raw = query.get('lines') ?? String(DEFAULT_LOG_LINES);
  const lines = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(lines <= MAX_LOG_LINES)) return text(400, `lines must be a whole number from 0 to ${MAX_LOG_LINES}, not '${mask(raw)}'\n`);
  const recent = source.logs(name).recent;
  if (!recent) return text(404, `${name} logs with format passthrough: it writes straight to the init's stdout, so the init keeps none of its output\n`);
  return text(200, mask(recent.last(lines).toString('utf8')));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
