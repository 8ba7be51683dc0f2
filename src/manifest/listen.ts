// Where an HTTP endpoint listens, as people write it: HOST:PORT, :PORT (every
// address) or [IPv6]:PORT.

export const LISTEN_PATTERN = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]*)):(\d{1,5})$/;
export const LISTEN_HINT = 'HOST:PORT, like 127.0.0.1:9090 or :9090 (every address)';

export function parseListen(text: string): { host: string; port: number } | undefined {
  const m = LISTEN_PATTERN.exec(text);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return undefined;
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}
