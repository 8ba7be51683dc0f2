// Turns one schema-valid service into the Service the supervisor runs:
// a single argv whatever the user wrote, and string users.
import type { Issue, Path } from './dsl/validate.js';
import type { RawService } from './schema.js';
import { shellSplit } from './shell-split.js';
import type { Logging, Service } from './types.js';

/** `after` is the checked list from checkReferences, not the one in the file; `logging` the top level's. */
export function toService(name: string, raw: RawService, after: string[], logging: Logging, path: Path, issues: Issue[]): Service {
  const execStart = raw.execStart === undefined ? undefined : toArgv(raw.execStart, [...path, 'execStart'], issues);
  if (raw.script !== undefined && raw.execStart !== undefined) {
    issues.push({ path: [...path, 'execStart'], message: "both 'script' and 'execStart' are set; keep exactly one" });
  } else if (raw.script === undefined && raw.execStart === undefined && raw.enable) {
    issues.push({ path, message: "missing 'script' or 'execStart': an enabled service needs a command to run" });
  }
  const argv = raw.script !== undefined ? ['/bin/sh', '-e', '-c', raw.script] : execStart ?? [];
  return {
    name,
    type: raw.type,
    argv,
    ...(raw.script === undefined ? {} : { script: raw.script }),
    ...(execStart === undefined ? {} : { execStart }),
    restartOnFailure: raw.restartOnFailure,
    environment: raw.environment,
    ...(raw.workingDirectory === undefined ? {} : { workingDirectory: raw.workingDirectory }),
    ...(raw.user === undefined ? {} : { user: String(raw.user) }),
    ...(raw.execLogger === undefined ? {} : { execLogger: raw.execLogger }),
    after,
    enable: raw.enable,
    tty: raw.tty,
    logging: { ...logging, ...raw.logging },
  };
}

function toArgv(execStart: string | string[], path: Path, issues: Issue[]): string[] {
  if (Array.isArray(execStart)) {
    if (execStart[0] === '') issues.push({ path: [...path, 0], message: 'the program to run (the first item) is empty' });
    return execStart;
  }
  const split = shellSplit(execStart);
  if ('error' in split) {
    issues.push({ path, message: `cannot split into words: ${split.error}` });
    return [];
  }
  if (split.argv.length === 0) issues.push({ path, message: 'has no words; name the program to run' });
  else if (split.argv[0] === '') issues.push({ path, message: 'the program to run (the first word) is empty' });
  return split.argv;
}
