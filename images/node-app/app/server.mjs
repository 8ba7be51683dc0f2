// The web service: GET /health, GET /items, POST /items (a JSON body), backed by the data file.
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';

const file = join(process.env.APP_DATA ?? '/var/lib/app', 'db.json');
const port = Number(process.env.PORT ?? 8080);
const load = () => JSON.parse(readFileSync(file, 'utf8'));

createServer((req, res) => {
  if (req.url === '/health') return res.end('ok\n');
  if (req.url === '/items' && req.method === 'GET') return res.end(`${JSON.stringify(load().items)}\n`);
  if (req.url === '/items' && req.method === 'POST') {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const db = load();
      db.items.push(JSON.parse(body || '{}'));
      writeFileSync(file, JSON.stringify(db));
      res.statusCode = 201;
      res.end(`${JSON.stringify(db.items)}\n`);
    });
    return undefined;
  }
  res.statusCode = 404;
  return res.end('not found\n');
}).listen(port, () => console.log(`web: listening on port ${port}`));

process.on('SIGTERM', () => process.exit(0));
