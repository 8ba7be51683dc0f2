// The control channel: a Unix socket in the state dir, owner-only (the dir is
// 0700, the socket 0600), speaking protocol.ts. It only reads the
// supervisor's state and asks it for actions through `ControlHandler`; a bad
// client costs the init one answer and a closed connection, nothing else.
import { redact, redactBytes } from '../config/redact.js';
import { chmodSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { suggestion } from '../schema-language/did-you-mean.js';
import { MAX_REQUEST_BYTES, parseRequest, type ActionOp, type LogsRequest, type ReloadResult, type Request, type Response, type ServiceResult } from './protocol.js';

/** What the init keeps of a service's output (src/logs). */
export interface LogSource {
  /** null when nothing is kept (passthrough) */
  recent: { last(lines: number): Buffer } | null;
  /** calls `fn` with each buffer of whole lines from now on (a view: copy to keep); returns the way to stop */
  follow(fn: (lines: Buffer) => void): () => void;
}

export interface ControlHandler {
  /** service names, in manifest order */
  names(): string[];
  /** the answer to `status`: the init's phase and every service record */
  status(): unknown;
  /** why actions are refused now (the init shutting down), or undefined */
  refusal(): string | undefined;
  /** performs an action on known services; resolves once it is complete */
  act(op: ActionOp, services: string[], signal?: string): Promise<ServiceResult[]> | ServiceResult[];
  /** re-reads the manifest: what changed, or the problems that kept anything from changing */
  reload(): Promise<ReloadResult | { problems: string[] }>;
  /** the output kept of a known service */
  logs(service: string): LogSource;
}

/** Listens on `path`; resolves once it accepts connections. */
export async function serveControl(path: string, handler: ControlHandler): Promise<Server> {
  const server = createServer((socket) => serveConnection(socket, handler));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.once('listening', () => {
      server.off('error', reject);
      resolve();
    });
    listenAsPrimary(server, path);
  });
  chmodSync(path, 0o600);
  server.on('error', () => {}); // accept() failures (EMFILE) drop one client, never the init
  return server;
}

type Listen2 = (address: string, port: number, addressType: number, backlog: number) => void;

/**
 * Listens on a Unix socket without loading node:cluster. Server#listen loads
 * it (and child_process and dgram with it: ~0.65 MB of PID 1's RSS) only to
 * ask whether this process is a cluster worker, which the init never is, and
 * then calls _listen2, as here; Node has kept that method since 0.x. Without
 * it, listen does the same at that cost.
 */
function listenAsPrimary(server: Server, path: string): void {
  const listen2 = (server as unknown as { _listen2?: Listen2 })._listen2;
  if (typeof listen2 === 'function') listen2.call(server, path, -1, -1, 511);
  else server.listen(path);
}

function serveConnection(socket: Socket, handler: ControlHandler): void {
  socket.on('error', () => {}); // a client that vanished mid-answer
  let buffered = '';
  // answers go out in the order of the requests, each once its action is complete
  let answered = Promise.resolve();
  let streaming = false;
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    if (streaming) return; // after `logs`, the connection carries its output only
    buffered += chunk;
    let newline: number;
    while ((newline = buffered.indexOf('\n')) !== -1) {
      const request = parseRequest(buffered.slice(0, newline));
      buffered = buffered.slice(newline + 1);
      if ('op' in request && request.op === 'logs') {
        streaming = true;
        buffered = '';
        answered = answered.then(() => streamLogs(socket, request, handler));
        return;
      }
      answered = answered.then(() => answer(request, handler)).then((response) => reply(socket, response));
    }
    if (Buffer.byteLength(buffered) > MAX_REQUEST_BYTES) {
      buffered = '';
      reply(socket, { ok: false, kind: 'bad-request', error: `a request line is at most ${MAX_REQUEST_BYTES} bytes` });
      socket.end();
    }
  });
}

/** Answers a client that does not read are kept up to this many bytes; past it the client is dropped, so it cannot grow the init's memory. */
const MAX_UNREAD_BYTES = 1024 * 1024;

function reply(socket: Socket, response: Response): void {
  if (socket.destroyed || !socket.writable) return;
  if (socket.writableLength > MAX_UNREAD_BYTES) {
    socket.destroy();
    return;
  }
  socket.write(`${redact(JSON.stringify(response))}\n`);
}

async function answer(request: Exclude<Request, LogsRequest> | { error: string }, handler: ControlHandler): Promise<Response> {
  if ('error' in request) return { ok: false, kind: 'bad-request', error: request.error };
  if (request.op === 'status') return { ok: true, result: handler.status() };
  if (request.op === 'reload') {
    const refused = handler.refusal();
    if (refused) return { ok: false, kind: 'shutting-down', error: refused };
    try {
      const result = await handler.reload();
      return 'problems' in result ? { ok: false, kind: 'invalid-manifest', error: result.problems.join('\n') } : { ok: true, result };
    } catch (err) {
      return { ok: false, kind: 'unavailable', error: (err as Error).message };
    }
  }
  const unknown = unknownServices(request.services, handler);
  if (unknown) return unknown;
  const refusal = handler.refusal();
  if (refusal) return { ok: false, kind: 'shutting-down', error: refusal };
  try {
    return { ok: true, result: await handler.act(request.op, request.services, request.signal) };
  } catch (err) {
    return { ok: false, kind: 'unavailable', error: (err as Error).message };
  }
}

function unknownServices(services: string[], handler: ControlHandler): Response | undefined {
  const names = handler.names();
  const unknown = services.filter((s) => !names.includes(s));
  if (!unknown.length) return undefined;
  return { ok: false, kind: 'unknown-service', error: unknown.map((s) => `unknown service '${s}'${suggestion(s, names)}`).join('; ') };
}

/**
 * Answers `logs`: one answer line, the last lines kept, then (with `follow`)
 * each new line as the service writes it, until the client or the init goes.
 * A follower that does not read is dropped, like any client that does not.
 */
function streamLogs(socket: Socket, request: LogsRequest, handler: ControlHandler): void {
  const refused = unknownServices([request.service], handler);
  const source = refused ? undefined : handler.logs(request.service);
  if (!source?.recent) {
    reply(socket, refused ?? {
      ok: false,
      kind: 'not-kept',
      error: `${request.service} logs with format passthrough: it writes straight to the init's stdout, so the init keeps none of its output (set its logging.format to plain, prefix or json to keep it)`,
    });
    socket.end();
    return;
  }
  reply(socket, { ok: true, result: { service: request.service, follow: request.follow } });
  // secret values masked, as on the HTTP endpoint's /logs/NAME: the service printed them, the init does not repeat them
  if (request.lines > 0) socket.write(redactBytes(Buffer.from(source.recent.last(request.lines)))); // a copy: the ring is overwritten
  if (!request.follow || socket.destroyed) {
    socket.end();
    return;
  }
  const stop = source.follow((lines) => {
    if (socket.writableLength > MAX_UNREAD_BYTES) socket.destroy();
    else socket.write(redactBytes(Buffer.from(lines))); // a copy: the relay reuses its buffer
  });
  socket.on('close', stop);
}
