// The optional HTTP endpoint (BERTH_HTTP or the manifest's http.listen):
// /healthz, /readyz and /metrics for load balancers, Kubernetes and
// Prometheus. Loaded only when configured; answers from the init's state on
// each request, so it costs nothing between requests.
import { redact } from '../config/redact.js';
import { createServer, type Server } from 'node:http';
import { LISTEN_HINT, parseListen } from '../manifest/listen.js';
import { healthz, readyz, renderMetrics, type HealthView } from './metrics.js';
import { serviceTotals } from '../procfs/stats.js';

export async function serveHttp(listen: string, view: () => HealthView): Promise<Server> {
  const at = parseListen(listen);
  if (!at) throw new Error(`'${listen}' is not ${LISTEN_HINT}`);
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const answer = (status: number, text: string, type = 'text/plain; charset=utf-8'): void => {
      const body = redact(text);
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return answer(405, 'GET or HEAD\n');
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
    return answer(404, 'not found: try /healthz, /readyz or /metrics\n');
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
