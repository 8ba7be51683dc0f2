// One try of a probe: does the service answer? tcp connects, http GETs, exec
// runs a command. Each resolves with pass or fail and a short answer for the
// log; none throws, none outlives its timeout.
import type { Probe } from '../manifest/index.js';

export interface ProbeResult {
  ok: boolean;
  /** what the check got: "HTTP 200", "connection refused", "exit code 1", "timed out after 1000 ms" */
  answer: string;
}

/** Runs a probe command to its end (or kills it at the timeout); given by the supervisor, which owns process spawning. */
export type RunCommand = (argv: string[], timeoutMs: number) => Promise<{ code: number | null; signal: string | null; reason?: string; timedOut: boolean }>;

export async function runProbe(probe: Probe, timeoutMs: number, run: RunCommand): Promise<ProbeResult> {
  switch (probe.kind) {
    case 'tcp':
      return tcpProbe(probe.host, probe.port, timeoutMs);
    case 'http':
      return httpProbe(probe.host, probe.port, probe.path, timeoutMs);
    case 'exec': {
      const r = await run(probe.argv, timeoutMs);
      if (r.timedOut) return { ok: false, answer: `timed out after ${timeoutMs} ms` };
      if (r.reason) return { ok: false, answer: r.reason };
      return r.code === 0 ? { ok: true, answer: 'exit code 0' } : { ok: false, answer: r.signal ? `killed by ${r.signal}` : `exit code ${r.code}` };
    }
  }
  return { ok: false, answer: 'unknown probe' };
}

async function tcpProbe(host: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  const { connect } = await import('node:net');
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (result: ProbeResult): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done({ ok: false, answer: `timed out after ${timeoutMs} ms` }), timeoutMs);
    socket.once('connect', () => done({ ok: true, answer: `connected to ${host}:${port}` }));
    socket.once('error', (err: NodeJS.ErrnoException) => done({ ok: false, answer: describeError(err, host, port) }));
  });
}

async function httpProbe(host: string, port: number, path: string, timeoutMs: number): Promise<ProbeResult> {
  const { request } = await import('node:http');
  return new Promise((resolve) => {
    let settled = false;
    const done = (result: ProbeResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(result);
    };
    const req = request({ host, port, path, method: 'GET', agent: false, headers: { 'user-agent': 'berth-probe' } }, (res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      done({ ok: status >= 200 && status < 400, answer: `HTTP ${status}` });
    });
    const timer = setTimeout(() => done({ ok: false, answer: `timed out after ${timeoutMs} ms` }), timeoutMs);
    req.once('error', (err: NodeJS.ErrnoException) => done({ ok: false, answer: describeError(err, host, port) }));
    req.end();
  });
}

function describeError(err: NodeJS.ErrnoException, host: string, port: number): string {
  if (err.code === 'ECONNREFUSED') return `connection refused on ${host}:${port}`;
  return `${err.code ?? err.message} on ${host}:${port}`;
}
