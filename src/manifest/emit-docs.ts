// Writes the JSON Schema and the Markdown reference derived from the manifest
// schema. Run after changing src/manifest/schema.ts: node dist/src/manifest/emit-docs.js
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatedFiles } from './generated.js';

// dist/src/manifest/ → repository root
const root = fileURLToPath(new URL('../../../', import.meta.url));

for (const [path, contents] of Object.entries(generatedFiles())) {
  await mkdir(dirname(root + path), { recursive: true });
  await writeFile(root + path, contents);
  console.log(`wrote ${path}`);
}
