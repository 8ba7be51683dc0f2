// Talks to a running init's control channel the way any tool may: raw lines on its socket.
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';

/** Sends `lines` as they are, and resolves with every answer line once `expect` of them came (or the socket closed). */
export function rawRequest(stateDir: string, lines: string, expect: number, timeoutMs = 10_000): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(join(stateDir, 'control.sock'));
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no ${expect} answers within ${timeoutMs} ms; got: ${text}`));
    }, timeoutMs);
    const done = (): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(text.split('\n').filter(Boolean));
    };
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(lines));
    socket.on('data', (d: string) => {
      text += d;
      if (text.split('\n').filter(Boolean).length >= expect) done();
    });
    socket.on('close', done);
    socket.on('error', reject);
  });
}
