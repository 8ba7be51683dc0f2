// The formats of relayed output (docs/logging.md, "Formats"). A formatter says
// what becomes of a buffer of whole lines from one stream of one service:
// written as it is, each line after a prefix, or each line as a json object
// (either way the sink copies them into a buffer it reuses, in the addon).
import { isUtf8 } from 'node:buffer';
import type { Logging } from '../manifest/index.js';

export type { Logging };

export const DEFAULT_LOGGING: Logging = { format: 'plain', timestamps: false };

export type Stream = 'stdout' | 'stderr';

export interface Formatter {
  /** what goes before each line, made afresh for each buffer (a timestamp moves on); null: nothing */
  prefix: (() => Buffer) | null;
  /** json: how the lines of one buffer from `stream` become objects; null: the lines go out as they are, after the prefix */
  json: ((stream: Stream) => JsonLines) | null;
}

/** The json of one buffer of lines, all read at one time. */
export interface JsonLines {
  /** each line's object up to its text: `{"time":…,"service":…,"stream":…,"line":"` */
  head: Buffer;
  /** one whole line (with its newline) as its object and a newline: for one that is not UTF-8 */
  one(line: Buffer): Buffer;
}

const NL = 0x0a;

/** The service name as the json `service` of the init's own lines: brackets keep it apart from every service name. */
export const INIT_SOURCE = '[berth]';

/**
 * The formatter of one service. `width` is the longest name among the
 * services printed with a prefix, so their `|` line up, as docker compose does.
 */
export function formatterFor(service: string, logging: Logging, width: number): Formatter {
  if (logging.format === 'json') return { prefix: null, json: (stream) => jsonLines(service, stream) };
  const name = logging.format === 'prefix' ? Buffer.from(`${service.padEnd(width)} | `) : null;
  if (!logging.timestamps) return name ? { prefix: () => name, json: null } : unchanged;
  return { prefix: () => (name ? Buffer.concat([timestamp(), name]) : timestamp()), json: null };
}

/** The init's own `[berth]` line in the top-level format: json when the services are json, so a shipper parses one format. */
export function formatInitLine(message: string, logging: Logging): string {
  if (logging.format === 'json') return `${jsonLine(new Date().toISOString(), INIT_SOURCE, 'stdout', message)}\n`;
  return `${logging.timestamps ? `${new Date().toISOString()} ` : ''}[berth] ${message}\n`;
}

/** plain without timestamps: the relay writes what it read */
export const unchanged: Formatter = { prefix: null, json: null };

function timestamp(): Buffer {
  return Buffer.from(`${new Date().toISOString()} `);
}


function jsonLines(service: string, stream: Stream): JsonLines {
  const time = new Date().toISOString();
  return {
    head: Buffer.from(`{"time":"${time}","service":${JSON.stringify(service)},"stream":"${stream}","line":"`),
    one: (line) => Buffer.from(`${jsonLine(time, service, stream, line.subarray(0, line.at(-1) === NL ? -1 : line.length))}\n`),
  };
}

/**
 * One json object. A line that is not valid UTF-8 keeps every byte: `line`
 * shows the invalid bytes as `\xNN` text, and `base64` holds the exact bytes.
 */
function jsonLine(time: string, service: string, stream: Stream, line: Buffer | string): string {
  const head = `{"time":"${time}","service":${JSON.stringify(service)},"stream":"${stream}","line":`;
  if (typeof line === 'string' || isUtf8(line)) return `${head}${JSON.stringify(line.toString())}}`;
  return `${head}${JSON.stringify(escapeInvalid(line))},"base64":"${line.toString('base64')}"}`;
}

/** Decodes UTF-8, writing each byte that is not part of a valid sequence as `\xNN`. */
export function escapeInvalid(bytes: Buffer): string {
  let out = '';
  let i = 0;
  while (i < bytes.length) {
    const n = sequenceLength(bytes, i);
    if (n === 0) {
      out += `\\x${bytes[i].toString(16).padStart(2, '0')}`;
      i++;
    } else {
      out += bytes.toString('utf8', i, i + n);
      i += n;
    }
  }
  return out;
}

/** Length of the valid UTF-8 sequence at `i`, or 0 (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF). */
function sequenceLength(b: Buffer, i: number): number {
  const c = b[i];
  if (c < 0x80) return 1;
  const cont = (k: number, lo = 0x80, hi = 0xbf): boolean => i + k < b.length && b[i + k] >= lo && b[i + k] <= hi;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    const lo = c === 0xe0 ? 0xa0 : 0x80;
    const hi = c === 0xed ? 0x9f : 0xbf;
    return cont(1, lo, hi) && cont(2) ? 3 : 0;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    const lo = c === 0xf0 ? 0x90 : 0x80;
    const hi = c === 0xf4 ? 0x8f : 0xbf;
    return cont(1, lo, hi) && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}
