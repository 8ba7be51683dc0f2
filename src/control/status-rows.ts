// What `berth status` shows of each service, in the terminal and on the
// status page: its record with CPU and memory (the rows `--json` prints and
// /status.json serves, made in one place so the two never differ), and the
// words its table uses for durations and sizes.
import type { StatusRecord } from './state-dir.js';

export interface StatusRow extends StatusRecord {
  /** percent of one core over the sampling window */
  cpu: number;
  /** bytes: what its limit counts where it has one, else RSS summed over its processes */
  memory: number;
}

/** The states in which a service has a process: its uptime, CPU and memory mean something. */
export const RUNNING_STATES: ReadonlySet<string> = new Set(['starting', 'up', 'stopping', 'running']);

/** Each record with its usage, sampled by main pid (a service not running has none). */
export function statusRows(records: StatusRecord[], usage: Map<number, { cpu: number; memory: number }>): StatusRow[] {
  return records.map((s) => {
    const u = s.pid === null ? undefined : usage.get(s.pid);
    // a limited service's record has the memory its limit counts (its cgroup's); others, the sum of RSS sampled
    return { ...s, cpu: round(u?.cpu ?? 0), memory: s.memory ?? u?.memory ?? 0 };
  });
}

/** `berth status --json`'s output, byte for byte. */
export function statusJson(rows: StatusRow[]): string {
  return `${JSON.stringify(rows, null, 2)}\n`;
}

/** 42s, 3m04s, 2h05m, 1d03h. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86_400)}d${String(Math.floor((s % 86_400) / 3600)).padStart(2, '0')}h`;
}

/** 512B, 1.6M, 45M: binary units, one letter. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n}B`;
  const units = ['K', 'M', 'G', 'T'];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) (value /= 1024), unit++;
  return `${value < 10 ? value.toFixed(1) : Math.round(value)}${units[unit]}`;
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
