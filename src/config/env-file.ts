// Env files and secret files, read without a shell and never throwing.
//
// Env files are parsed by dotenv, so they mean what they mean to every other
// tool that reads .env files. What that accepts (dotenv 18):
//   KEY=value, KEY = value, export KEY=value, and KEY: value (the colon
//     right after the key). Keys are letters, digits, `_`, `.` and `-`.
//   A line that is none of these (`KEY` alone, `A B=1`) is skipped, silently.
//   Unquoted values are trimmed, and `#` starts a comment even inside a word
//     (`a#b` is `a`): quote a value that holds one.
//   '…' and `…` are literal; "…" turns \n and \r into a newline and a CR and
//     keeps every other backslash (`\"` stays `\"`). All three may span lines.
//     An unclosed quote is part of a one-line value.
//   `$VAR`, `${VAR}` and `$(cmd)` stay as written: no expansion, nothing runs.
//   CRLF and a lone CR end lines like LF; a leading BOM is ignored; the last
//     of two equal keys wins; a key `__proto__` is dropped.
// dotenv's default parser is a regular expression that takes 18 s over 64 KiB
// of blank lines; its `fast` scanner is linear and gave the same result on
// 200,000 random texts. Even it slows to seconds on a line with thousands of
// U+2028 or U+2029, which it takes for line breaks in some places and not in
// others: Berth refuses those two, as well as a file over MAX_FILE_BYTES, a
// NUL byte (no environment variable can hold one) and text that is not UTF-8.
// dotenv 18 is one 5 kB file that needs only fs, os, path and url; bundled with the init, it costs nothing until an
// env file is read (its functions compile on first call), where loading it on demand took ~5 ms
import { parse } from 'dotenv';
import { readRegularFile, type NotRegular } from '../native/files.js';

// ignoreBOM keeps a BOM as content: a secret is passed on exactly
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** A wrong path to a huge file (a log, a disk image) must not stall PID 1. */
export const MAX_FILE_BYTES = 2 ** 20;

export type Read<T> = ({ ok: true } & T) | { ok: false; error: string };

export function readEnvFile(path: string): Read<{ vars: Record<string, string> }> {
  const read = readText(path, 'an env file');
  if (!read.ok) return read;
  const separator = /[\u2028\u2029]/.exec(read.text);
  if (separator) {
    const line = read.text.slice(0, separator.index).split('\n').length;
    return { ok: false, error: `${path}: line ${line} holds U+${separator[0].charCodeAt(0).toString(16).toUpperCase()}, a Unicode line separator that env files cannot hold` };
  }
  return { ok: true, vars: parse(read.text, { fast: true }) };
}

/** The file's content without one trailing newline, as `echo secret > file` leaves it. */
export function readSecretFile(path: string): Read<{ value: string }> {
  const read = readText(path, 'a secret file');
  if (!read.ok) return read;
  const { text } = read;
  const cut = text.endsWith('\r\n') ? 2 : text.endsWith('\n') ? 1 : 0;
  return { ok: true, value: text.slice(0, text.length - cut) };
}

const FILE_PREFIX = 'FILE__';
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * FILE__NAME=/path sets NAME to the content of /path (linuxserver.io's
 * convention), so a secret mounted as a file reaches a program that only
 * reads its environment. `from` is the FILE__ keys, which the caller keeps
 * from the services.
 */
export function secretsFromEnv(env: Record<string, string | undefined>): { ok: true; vars: Record<string, string>; from: string[] } | { ok: false; problems: string[] } {
  const vars: [string, string][] = [];
  const from: string[] = [];
  const problems: string[] = [];
  for (const [key, path] of Object.entries(env)) {
    if (!key.startsWith(FILE_PREFIX) || path === undefined) continue;
    from.push(key);
    const name = key.slice(FILE_PREFIX.length);
    if (!NAME.test(name)) {
      problems.push(`${key}=${path}: '${name}' is not a variable name (letters, digits and _, not starting with a digit)`);
    } else if (path === '') {
      problems.push(`${key} is empty: give the path of the file that holds ${name}`);
    } else {
      const secret = readSecretFile(path);
      if (secret.ok) vars.push([name, secret.value]);
      else problems.push(`${key}: ${secret.error}`);
    }
  }
  // fromEntries makes even `__proto__` an own property; an assignment would drop it
  return problems.length ? { ok: false, problems } : { ok: true, vars: Object.fromEntries(vars), from };
}

/**
 * UTF-8 text from a regular file, at most MAX_FILE_BYTES: a FIFO (which
 * blocks an open until a writer comes, forever in a container) or a device
 * is refused before it is opened (readRegularFile).
 */
function readText(path: string, what: string): Read<{ text: string }> {
  const read = readRegularFile(path, MAX_FILE_BYTES);
  if ('errno' in read) return { ok: false, error: `${path}: ${read.errno}${ERRNO_WORDS[read.errno] ?? ''}` };
  if ('notRegular' in read) return { ok: false, error: `${path}: ${NOT_REGULAR[read.notRegular]}` };
  const { bytes } = read;
  if (bytes.length > MAX_FILE_BYTES) return { ok: false, error: `${path}: larger than ${MAX_FILE_BYTES / 2 ** 20} MiB, the most Berth reads for ${what} (is it the right file?)` };
  const nul = bytes.indexOf(0);
  if (nul !== -1) return { ok: false, error: `${path}: a NUL byte at offset ${nul} (binary data?), which no environment variable can hold` };
  try {
    return { ok: true, text: utf8.decode(bytes) };
  } catch {
    return { ok: false, error: `${path}: not UTF-8 text` };
  }
}

const NOT_REGULAR: Record<NotRegular, string> = {
  directory: 'EISDIR (a directory, not a file)',
  FIFO: 'a FIFO (named pipe), not a regular file',
  'character device': 'a character device, not a regular file',
  'block device': 'a block device, not a regular file',
  socket: 'a socket, not a regular file',
};

const ERRNO_WORDS: Record<string, string> = {
  ENOENT: ' (no such file)',
  EACCES: ' (permission denied)',
  EPERM: ' (permission denied)',
  ENOTDIR: ' (a part of the path is not a directory)',
  ELOOP: ' (too many symbolic links)',
};
