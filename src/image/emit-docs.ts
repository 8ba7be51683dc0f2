// Writes docs/options.md and schema/image.schema.json from the option
// declarations. Run after changing src/image/options.ts or a module:
// npx tsc -p . && node dist/src/image/emit-docs.js
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatedFiles } from './generated.js';

// dist/src/image/ → repository root
const root = fileURLToPath(new URL('../../../', import.meta.url));

for (const [path, contents] of Object.entries(generatedFiles())) {
  await mkdir(dirname(root + path), { recursive: true });
  await writeFile(root + path, contents);
  console.log(`wrote ${path}`);
}
