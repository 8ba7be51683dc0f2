// The optional HTTP endpoint (BERTH_HTTP or the manifest's http.listen):
// /healthz, /readyz and /metrics for load balancers, Kubernetes and
// Prometheus, and the status page's paths for people. Loaded only when
// configured; answers from the init's state on each request, so it costs
// nothing between requests. Read-only: GET and HEAD, nothing else.
import { redact } from '../config/redact.js';
import { createServer, type Server } from 'node:http';
import { LISTEN_HINT, parseListen } from '../manifest/listen.js';
import { healthz, readyz, renderMetrics, type HealthView } from './metrics.js';
import { serviceTotals } from '../procfs/stats.js';

/** What the status page answers; it masks secret values in the data it shows itself, so the body is sent as it is. */
export interface PageAnswer {
  status: number;
  type: string;
  body: string;
  headers?: Record<string, string>;
}

/** The status page (src/page): the answer for one of its paths, given the query string. */
export type StatusPage = (path: string, query: string) => PageAnswer | Promise<PageAnswer>;

/** The status page's paths: its module is loaded on the first request for one of them, never for the others. */
function isPagePath(path: string): boolean {
  return path === '/' || path === '/status.json' || path.startsWith('/logs/');
}

export async function serveHttp(listen: string, view: () => HealthView, loadPage: () => Promise<StatusPage>): Promise<Server> {
  const at = parseListen(listen);
  if (!at) throw new Error(`'${listen}' is not ${LISTEN_HINT}`);
  let page: Promise<StatusPage> | undefined;
  const server = createServer((req, res) => {
    const [path, query = ''] = (req.url ?? '/').split('?', 2);
    const send = (a: PageAnswer): void => {
      res.writeHead(a.status, { 'content-type': a.type, 'content-length': Buffer.byteLength(a.body), ...a.headers });
      res.end(req.method === 'HEAD' ? undefined : a.body);
    };
    const answer = (status: number, text: string, type = 'text/plain; charset=utf-8', headers?: Record<string, string>): void => send({ status, type, body: redact(text), headers });
    if (req.method !== 'GET' && req.method !== 'HEAD') return answer(405, `${req.method} is not allowed: this endpoint only reads (GET or HEAD)\n`, undefined, { allow: 'GET, HEAD' });
    if (isPagePath(path)) {
      // a client gone meanwhile (a /status.json waits for its CPU window) gets nothing
      (page ??= loadPage()).then((p) => p(path, query)).then(
        (a) => res.destroyed || send(a),
        (err: Error) => res.destroyed || answer(500, `the status page failed: ${err.message}\n`),
      );
      return;
    }
    if (path === '/healthz') {
      const r = healthz(view());
      return answer(r.status, r.body);
    }
    if (path === '/readyz') {
      const r = readyz(view());
      return answer(r.status, r.body);
    }
    if (path === '/metrics') {
      const v = view();
      const totals = serviceTotals(v.services.flatMap((s) => (s.pid === null ? [] : [s.pid])));
      const cpu = process.cpuUsage();
      const self = { cpuSeconds: (cpu.user + cpu.system) / 1e6, memory: process.memoryUsage.rss() };
      return answer(200, renderMetrics(v, totals, self), 'text/plain; version=0.0.4; charset=utf-8');
    }
    return answer(404, 'not found: try / (the status page), /status.json, /logs/NAME, /healthz, /readyz or /metrics\n');
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}
