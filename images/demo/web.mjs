// A tiny web service for the demo manifest.
import { createServer } from 'node:http';

const port = Number(process.env.PORT ?? 8080);
createServer((req, res) => res.end(req.url === '/health' ? 'ok\n' : 'hello from a service under berth init\n')).listen(port, () =>
  console.log(`web: listening on http://127.0.0.1:${port}`),
);
process.on('SIGTERM', () => {
  console.log('web: SIGTERM, closing');
  process.exit(0);
});
