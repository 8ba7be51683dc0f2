// The output relay (docs/logging.md): formats, whole lines, the recent
// lines `berth logs` shows, and the init's stdout that they share.
import type { Service } from '../manifest/index.js';
import { ServiceLog } from './relay.js';

export { DEFAULT_LOGGING, type Logging } from './format.js';
export { initLine, flushInitLines, setInitLogging, stdoutSink } from './output.js';
export { RECENT_BYTES } from './recent.js';
export { ServiceLog, type Capture } from './relay.js';
export { Sink } from './sink.js';

/** Every service's log, with prefixes padded to the longest name printed with one. */
export function serviceLogs(services: Service[]): Map<string, ServiceLog> {
  const width = Math.max(0, ...services.filter((s) => s.logging.format === 'prefix').map((s) => s.name.length));
  return new Map(services.map((s) => [s.name, new ServiceLog(s.name, s.logging, width)]));
}
