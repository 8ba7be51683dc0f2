// PATH lookup as execvp does it: for the services the init starts, and for
// the helpers it needs (setpriv, a container engine).
import { accessSync, constants, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** Where execvp looks for `name`: the name itself when it has a '/', else each PATH entry (an empty entry is the cwd). */
export function programCandidates(name: string, path: string | undefined, cwd = '.'): string[] {
  if (name.includes('/')) return [resolve(cwd, name)];
  return (path ?? '').split(':').map((dir) => join(resolve(cwd, dir || '.'), name));
}

export function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function isExecutableFile(path: string): boolean {
  if (!isFile(path)) return false;
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first executable file execvp would run for `name`, or undefined. */
export function findProgram(name: string, path: string | undefined, cwd?: string): string | undefined {
  return programCandidates(name, path, cwd).find(isExecutableFile);
}
