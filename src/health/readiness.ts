// Waits for a service to be ready: s6's notification-fd protocol (a newline
// on a pipe), systemd's (READY=1, heard by src/notify/channel.ts), or a
// probe tried every interval until it passes. Woken by the
// pipe or a timer, never polled in between; stops when the service exits.
import { Socket } from 'node:net';
import type { Probe, Readiness } from '../manifest/index.js';
import { runProbe, type RunCommand } from './probe.js';

export interface WatchOptions {
  /** the read end of the notification pipe, for notification-fd readiness */
  notifyFd?: number;
  /** resolves at the service's READY=1, for notify readiness */
  notified?: Promise<void>;
  /** aborted when the service's process exits */
  signal: AbortSignal;
  run: RunCommand;
}

/** Resolves once the service is ready; never settles if it exits first. */
export function whenReady(readiness: Readiness, opts: WatchOptions): Promise<void> {
  if (readiness.kind === 'notification-fd') return notified(opts.notifyFd!, opts.signal);
  if (readiness.kind === 'notify') return opts.notified!;
  return probeUntilPass(readiness.probe, readiness.intervalMs, readiness.timeoutMs, opts);
}

/** The first newline on the pipe; the pipe is closed then, or when the service exits. */
function notified(fd: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const pipe = new Socket({ fd, readable: true, writable: false });
    const close = (): void => {
      pipe.destroy();
      signal.removeEventListener('abort', close);
    };
    signal.addEventListener('abort', close);
    pipe.on('error', close);
    pipe.on('data', (chunk: Buffer) => {
      if (!chunk.includes(0x0a)) return;
      close();
      resolve();
    });
  });
}

async function probeUntilPass(probe: Probe, intervalMs: number, timeoutMs: number, opts: WatchOptions): Promise<void> {
  while (!opts.signal.aborted) {
    if ((await runProbe(probe, timeoutMs, opts.run)).ok && !opts.signal.aborted) return;
    await sleep(intervalMs, opts.signal);
  }
  return new Promise(() => {});
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done);
  });
}
