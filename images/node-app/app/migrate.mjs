// The migration: brings the data file to the current schema before any service starts.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const file = join(process.env.APP_DATA ?? '/var/lib/app', 'db.json');
const db = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : { schema: 0, items: [] };
if (db.schema < 1) {
  db.schema = 1;
  db.items ??= [];
  writeFileSync(file, JSON.stringify(db));
  console.log(`migrate: ${file} migrated to schema 1`);
} else {
  console.log(`migrate: ${file} is current (schema ${db.schema})`);
}
