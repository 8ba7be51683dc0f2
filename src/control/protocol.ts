// The control channel's protocol (docs/state-dir.md): one JSON object per
// line each way. Parsing is strict and total: any line, however malformed,
// becomes a request or an error to answer, never an exception.

/** A request line longer than this is refused and the connection closed. */
export const MAX_REQUEST_BYTES = 64 * 1024;
/** More service names than this in one request is refused. */
export const MAX_SERVICES_PER_REQUEST = 10_000;
/** `logs` asks for at most this many lines (more than the init keeps of anything). */
export const MAX_LOG_LINES = 1_000_000;
/** What `logs` sends when the request names no number of lines. */
export const DEFAULT_LOG_LINES = 100;

export type ActionOp = 'start' | 'stop' | 'restart' | 'signal' | 'run';

/**
 * `logs` is the last request of its connection: its answer line is followed by
 * the service's output, raw bytes, until the init closes the connection (at
 * once without `follow`).
 */
export type LogsRequest = { op: 'logs'; service: string; lines: number; follow: boolean };

export type Request = { op: 'status' } | { op: 'reload' } | { op: ActionOp; services: string[]; signal?: string } | LogsRequest;

/** What `reload` did: services by name. */
export interface ReloadResult {
  added: string[];
  removed: string[];
  restarted: string[];
  unchanged: number;
}

/** What one service did with an action. */
export interface ServiceResult {
  service: string;
  ok: boolean;
  /** its state once the action was done */
  state: string;
  /** one line for a person: what happened, or why it failed */
  message: string;
  /** `run`: the exit code of the job's run (128 + N for a signal) */
  code?: number;
}

/** Why a request got no result: a malformed request, a name no service has, an init that is going away, a manifest a reload found invalid, or no logs kept (passthrough). */
export type ErrorKind = 'bad-request' | 'unknown-service' | 'shutting-down' | 'unavailable' | 'invalid-manifest' | 'not-kept';

export type Response = { ok: true; result: unknown } | { ok: false; kind: ErrorKind; error: string };

const OPS: ReadonlySet<string> = new Set(['status', 'reload', 'start', 'stop', 'restart', 'signal', 'run', 'logs']);
const FIELDS: Record<string, readonly string[]> = {
  status: ['op'],
  reload: ['op'],
  start: ['op', 'services'],
  stop: ['op', 'services'],
  restart: ['op', 'services'],
  run: ['op', 'services'],
  signal: ['op', 'services', 'signal'],
  logs: ['op', 'service', 'lines', 'follow'],
};

export function parseRequest(line: string): Request | { error: string } {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { error: 'a request is one JSON object on one line' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { error: 'a request is one JSON object on one line' };
  const fields = value as Record<string, unknown>;
  const op = fields.op;
  if (typeof op !== 'string' || !OPS.has(op)) return { error: `"op" must be one of ${[...OPS].join(', ')}` };
  const unknown = Object.keys(fields).find((k) => !FIELDS[op].includes(k));
  if (unknown !== undefined) return { error: `unknown field ${JSON.stringify(unknown)} for op ${op}` };
  if (op === 'status' || op === 'reload') return { op };
  if (op === 'logs') return parseLogs(fields);
  const services = fields.services;
  if (!Array.isArray(services) || services.length === 0 || services.some((s) => typeof s !== 'string')) {
    return { error: '"services" must be a non-empty list of service names' };
  }
  if (services.length > MAX_SERVICES_PER_REQUEST) return { error: `at most ${MAX_SERVICES_PER_REQUEST} services per request` };
  if (op !== 'signal') return { op: op as ActionOp, services: [...new Set(services as string[])] };
  if (typeof fields.signal !== 'string') return { error: '"signal" must be a signal name or number, like "HUP"' };
  return { op: 'signal', services: [...new Set(services as string[])], signal: fields.signal };
}

function parseLogs(fields: Record<string, unknown>): LogsRequest | { error: string } {
  const { service, lines = DEFAULT_LOG_LINES, follow = false } = fields;
  if (typeof service !== 'string' || service === '') return { error: '"service" must be a service name' };
  if (typeof lines !== 'number' || !Number.isInteger(lines) || lines < 0 || lines > MAX_LOG_LINES) {
    return { error: `"lines" must be a whole number from 0 to ${MAX_LOG_LINES}` };
  }
  if (typeof follow !== 'boolean') return { error: '"follow" must be true or false' };
  return { op: 'logs', service, lines, follow };
}
