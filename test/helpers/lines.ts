// What the log relay must make of some output: its lines, each cut into
// MAX_LINE pieces ending with a newline, a last unfinished one finished.
import { MAX_LINE } from '../../src/logs/framer.js';

/** The framed lines of `input`, each after `prefix`. */
export function framed(input: Buffer, prefix = Buffer.alloc(0)): Buffer {
  const parts: Buffer[] = [];
  let from = 0;
  while (from < input.length) {
    let nl = input.indexOf(10, from);
    if (nl === -1) nl = input.length;
    for (let at = from; at < nl || at === from; at += MAX_LINE) {
      parts.push(prefix, input.subarray(at, Math.min(nl, at + MAX_LINE)), Buffer.from('\n'));
      if (nl - at <= MAX_LINE) break;
    }
    from = nl + 1;
  }
  return Buffer.concat(parts);
}
