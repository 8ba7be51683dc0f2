// A service's limits from the manifest's `resources:` blocks: each field of
// the service's own block, else the top-level default's, parsed to the units
// the kernel takes (bytes, cores, a count). Only the fields set are present.
import { parseCpu, parseMemory, parsePids, type Parsed } from './quantity.js';

/** What `resources:` says, as written in the manifest. */
export interface ResourcesSpec {
  memory?: string | number;
  cpu?: string | number;
  pids?: number;
}

/** The record's `limits`: memory in bytes, cpu in cores, pids a count; only those set. */
export interface Limits {
  memory?: number;
  cpu?: number;
  pids?: number;
}

const PARSERS: Record<keyof Limits, (input: unknown) => Parsed<number>> = { memory: parseMemory, cpu: parseCpu, pids: parsePids };

/** The limits of a service with `own` over `defaults`, field by field; or every field's problem. */
export function resolveLimits(own: ResourcesSpec | undefined, defaults: ResourcesSpec | undefined): { limits: Limits } | { problems: { field: keyof Limits; message: string }[] } {
  const limits: Limits = {};
  const problems: { field: keyof Limits; message: string }[] = [];
  for (const field of Object.keys(PARSERS) as (keyof Limits)[]) {
    const input = own?.[field] ?? defaults?.[field];
    if (input === undefined) continue;
    const parsed = PARSERS[field](input);
    if (parsed.ok) limits[field] = parsed.value;
    else problems.push({ field, message: parsed.error });
  }
  return problems.length ? { problems } : { limits };
}
