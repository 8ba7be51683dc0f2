// The init's own log lines. They share stdout with the services (what
// `docker logs` shows), so each carries a prefix that no service would print.
// Lines of one burst (100 services starting, a restart) go out in one write
// after it, so logging never delays a spawn; `flushLog` empties the buffer
// before the process exits.
let pending = '';

export function log(message: string): void {
  if (!pending) setImmediate(flushLog);
  pending += `[berth] ${message}\n`;
}

export function flushLog(): void {
  if (!pending) return;
  const text = pending;
  pending = '';
  process.stdout.write(text);
}
