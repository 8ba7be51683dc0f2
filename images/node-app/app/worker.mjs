// The worker: reports how many items the web service holds, every 2 seconds.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const file = join(process.env.APP_DATA ?? '/var/lib/app', 'db.json');
setInterval(() => {
  const { items } = JSON.parse(readFileSync(file, 'utf8'));
  console.log(`${items.length} item(s) in the store`);
}, 2000);
process.on('SIGTERM', () => process.exit(0));
