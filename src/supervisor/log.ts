// The init's own log lines. They share stdout with the services (what
// `docker logs` shows), so each carries a prefix that no service would print.
export function log(message: string): void {
  process.stdout.write(`[berth] ${message}\n`);
}
