// The init's stdout: what `docker logs` shows. Relayed service lines and the
// init's own `[berth]` lines share it through one sink, so they never split
// each other. The init's lines of one burst (100 services starting) go out in
// one write after it, so logging never delays a spawn; any relayed write
// flushes them first, so a service's "started" line precedes its output.
import { redact } from '../config/redact.js';
import { writeSync } from 'node:fs';
import { DEFAULT_LOGGING, formatInitLine, type Logging } from './format.js';
import { setPipeSize } from '../native/fds.js';
import { Sink } from './sink.js';

const STDOUT_PIPE_BYTES = 1024 * 1024;

let logging: Logging = DEFAULT_LOGGING;
let pending = '';
let sink: Sink | undefined;

/** The top-level logging: the init's own lines follow it (json services, json init lines). */
export function setInitLogging(top: Logging): void {
  logging = top;
}

export function stdoutSink(): Sink {
  sink ??= new Sink(process.stdout, readerGone, flushInitLines, growStdoutPipe, 1);
  return sink;
}

/**
 * Once a service floods, the init's stdout, when it is a pipe (what a
 * container engine reads), grows from 64 KiB to 1 MiB: with 64 KiB the init
 * and the engine took turns at every few KiB (1 GiB through `| cat`: 1.0–1.2
 * GB/s in plain, 1.5–1.9 once grown). Best effort: a file, a terminal or the
 * per-user pipe quota leave it as it is.
 */
function growStdoutPipe(): void {
  setPipeSize(1, STDOUT_PIPE_BYTES);
}

/** Queues one line of the init's own. */
export function initLine(message: string): void {
  if (!pending) setImmediate(flushInitLines);
  pending += formatInitLine(redact(message), logging);
}

export function flushInitLines(): void {
  if (!pending) return;
  const text = pending;
  pending = '';
  stdoutSink().write(Buffer.from(text));
}

/** Said once, on stderr (stdout is what went away): the services live on, their output goes nowhere. */
function readerGone(err: Error): void {
  const code = (err as NodeJS.ErrnoException).code ?? err.message;
  try {
    writeSync(2, `[berth] stdout is gone (${code}): services keep running, their output is dropped; berth logs still keeps their recent lines\n`);
  } catch {
    // stderr went with it
  }
}
