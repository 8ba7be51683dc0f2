// The control channel: a Unix socket in the state dir, owner-only (the dir is
// 0700, the socket 0600), speaking protocol.ts. It only reads the
// supervisor's state and asks it for actions through `ControlHandler`; a bad
// client costs the init one answer and a closed connection, nothing else.
import { chmodSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { suggestion } from '../manifest/dsl/did-you-mean.js';
import { MAX_REQUEST_BYTES, parseRequest, type ActionOp, type ReloadResult, type Response, type ServiceResult } from './protocol.js';

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
}

/** Listens on `path`; resolves once it accepts connections. */
export async function serveControl(path: string, handler: ControlHandler): Promise<Server> {
  const server = createServer((socket) => serveConnection(socket, handler));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  chmodSync(path, 0o600);
  server.on('error', () => {}); // accept() failures (EMFILE) drop one client, never the init
  return server;
}

function serveConnection(socket: Socket, handler: ControlHandler): void {
  socket.on('error', () => {}); // a client that vanished mid-answer
  let buffered = '';
  // answers go out in the order of the requests, each once its action is complete
  let answered = Promise.resolve();
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    let newline: number;
    while ((newline = buffered.indexOf('\n')) !== -1) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      answered = answered.then(() => answer(line, handler)).then((response) => reply(socket, response));
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
  socket.write(`${JSON.stringify(response)}\n`);
}

async function answer(line: string, handler: ControlHandler): Promise<Response> {
  const request = parseRequest(line);
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
  const names = handler.names();
  const unknown = request.services.filter((s) => !names.includes(s));
  if (unknown.length) {
    return { ok: false, kind: 'unknown-service', error: unknown.map((s) => `unknown service '${s}'${suggestion(s, names)}`).join('; ') };
  }
  const refusal = handler.refusal();
  if (refusal) return { ok: false, kind: 'shutting-down', error: refusal };
  try {
    return { ok: true, result: await handler.act(request.op, request.services, request.signal) };
  } catch (err) {
    return { ok: false, kind: 'unavailable', error: (err as Error).message };
  }
}
