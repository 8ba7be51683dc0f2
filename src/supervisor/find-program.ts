// PATH lookup, for helpers the init itself must find before anything starts.
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';

export function findProgram(name: string, path: string | undefined): string | undefined {
  for (const dir of (path ?? '').split(':')) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}
