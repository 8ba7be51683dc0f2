// One message of systemd's notification protocol (sd_notify(3)): lines of
// KEY=VALUE. The keys Berth acts on are read into fields; the others
// (BARRIER, FDSTORE…) are valid and ignored. A message that is
// not text in that shape is refused whole, never half applied.

export interface Notification {
  ready?: true;
  reloading?: true;
  stopping?: true;
  /** STATUS=: free text for an operator */
  status?: string;
  /** MAINPID=: the service's main process is now this one */
  mainPid?: number;
  /** ERRNO=: the errno of a failure the service reports */
  errno?: number;
  /** EXTEND_TIMEOUT_USEC=: needs this much longer (from now) to get ready */
  extendTimeoutUs?: number;
  /** WATCHDOG=1: alive (ping); WATCHDOG=trigger: end me now as the watchdog would */
  watchdog?: 'ping' | 'trigger';
  /** WATCHDOG_USEC=: the watchdog's interval from now on */
  watchdogUs?: number;
}

const KEY = /^[A-Z_][A-Z0-9_]*$/;
const UNSIGNED = /^[0-9]{1,15}$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The fields of a message, or why it is refused; never throws. */
export function parseNotification(data: Uint8Array): { ok: Notification } | { problem: string } {
  if (data.includes(0)) return { problem: 'it holds a NUL byte' };
  let text: string;
  try {
    text = utf8.decode(data);
  } catch {
    return { problem: 'it is not UTF-8' };
  }
  const out: Notification = {};
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const eq = line.indexOf('=');
    const key = eq < 0 ? line : line.slice(0, eq);
    if (eq < 0 || !KEY.test(key)) return { problem: `a line is not KEY=VALUE: ${JSON.stringify(line.slice(0, 40))}` };
    const value = line.slice(eq + 1);
    const problem = apply(out, key, value);
    if (problem) return { problem: `${key}=${JSON.stringify(value.slice(0, 40))}: ${problem}` };
  }
  return { ok: out };
}

/** Sets the field `key` names; what is wrong with its value, if anything. */
function apply(out: Notification, key: string, value: string): string | undefined {
  switch (key) {
    case 'READY':
    case 'RELOADING':
    case 'STOPPING':
      if (value !== '1') return 'only 1 is meant';
      out[key === 'READY' ? 'ready' : key === 'RELOADING' ? 'reloading' : 'stopping'] = true;
      return undefined;
    case 'STATUS':
      out.status = value;
      return undefined;
    case 'MAINPID': {
      const pid = unsigned(value);
      if (pid === undefined || pid < 1) return 'not a pid';
      out.mainPid = pid;
      return undefined;
    }
    case 'ERRNO':
      out.errno = unsigned(value);
      return out.errno === undefined ? 'not an errno' : undefined;
    case 'WATCHDOG':
      if (value !== '1' && value !== 'trigger') return 'only 1 or trigger is meant';
      out.watchdog = value === '1' ? 'ping' : 'trigger';
      return undefined;
    case 'WATCHDOG_USEC':
      out.watchdogUs = unsigned(value);
      return out.watchdogUs === undefined || out.watchdogUs === 0 ? 'not a number of microseconds above 0' : undefined;
    case 'EXTEND_TIMEOUT_USEC':
      out.extendTimeoutUs = unsigned(value);
      return out.extendTimeoutUs === undefined ? 'not a number of microseconds' : undefined;
  }
  return undefined;
}

function unsigned(value: string): number | undefined {
  return UNSIGNED.test(value) ? Number(value) : undefined;
}
