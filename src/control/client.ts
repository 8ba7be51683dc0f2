// The client side of the control channel: one request, one answer. Every way
// of not reaching an init becomes a NoInit error that says which state dir
// was tried and how to name another.
import { lstatSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import type { LogsRequest, Request, Response } from './protocol.js';
import { CONTROL_SOCKET } from './state-dir.js';

/** No live init answers at the state dir (exit 2 for the commands). */
export class NoInit extends Error {}

const HOW_TO_POINT = 'name another with --state-dir DIR or BERTH_STATE_DIR';

export function request(stateDir: string, req: Request): Promise<Response> {
  const path = join(stateDir, CONTROL_SOCKET);
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    let text = '';
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${JSON.stringify(req)}\n`));
    socket.on('data', (chunk: string) => {
      text += chunk;
      const newline = text.indexOf('\n');
      if (newline === -1) return;
      socket.end();
      try {
        resolve(JSON.parse(text.slice(0, newline)) as Response);
      } catch {
        reject(new NoInit(`the init at ${stateDir} answered something that is not the control protocol`));
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => reject(unreachable(stateDir, err)));
    socket.on('close', () => reject(new NoInit(`the init at ${stateDir} closed the control channel without answering (it may have just exited)`)));
  });
}

/**
 * Sends `logs` and copies the output that follows the answer line to `out`,
 * with back-pressure; resolves with the answer once the init closes the
 * connection (at once for an error).
 */
export function requestLogs(stateDir: string, req: LogsRequest, out: Writable): Promise<Response> {
  const path = join(stateDir, CONTROL_SOCKET);
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    let head: Buffer | null = Buffer.alloc(0);
    let response: Response | undefined;
    socket.on('connect', () => socket.write(`${JSON.stringify(req)}\n`));
    socket.on('data', (chunk: Buffer) => {
      if (head === null) return;
      head = Buffer.concat([head, chunk]);
      const newline = head.indexOf(0x0a);
      if (newline === -1) return;
      const rest = head.subarray(newline + 1);
      try {
        response = JSON.parse(head.subarray(0, newline).toString()) as Response;
      } catch {
        socket.destroy();
        reject(new NoInit(`the init at ${stateDir} answered something that is not the control protocol`));
        return;
      }
      head = null;
      if (!response.ok) {
        socket.destroy();
        resolve(response);
        return;
      }
      if (rest.length) out.write(rest);
      socket.pipe(out, { end: false });
    });
    socket.on('error', (err: NodeJS.ErrnoException) => reject(response ? err : unreachable(stateDir, err)));
    socket.on('close', () => {
      if (response) resolve(response);
      else reject(new NoInit(`the init at ${stateDir} closed the control channel without answering (it may have just exited)`));
    });
  });
}

function unreachable(stateDir: string, err: NodeJS.ErrnoException): Error {
  switch (err.code) {
    case 'ENOENT':
    case 'ECONNREFUSED':
    case 'ENOTDIR':
      return new NoInit(`no live init owns the state dir ${stateDir}; ${HOW_TO_POINT}`);
    case 'EACCES':
    case 'EPERM':
      return new NoInit(`permission denied on the state dir ${stateDir}: it belongs to the init's user (uid ${ownerOf(stateDir)}); run this as that user`);
    default:
      return new NoInit(`cannot reach the init at ${stateDir}: ${err.message}`);
  }
}

/** The state dir's owner; lstat of the dir itself needs no permission on it. */
function ownerOf(dir: string): string {
  try {
    return String(lstatSync(dir).uid);
  } catch {
    return '?';
  }
}
