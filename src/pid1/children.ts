// Lists processes from /proc: the kernel keeps each thread's children apart, so all threads are read.
import { readdirSync, readFileSync } from 'node:fs';

/** The thread ids of `pid`; empty when it is gone. */
export function listTasks(pid: number | 'self' = 'self'): string[] {
  try {
    return readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
}

/**
 * Direct children of `pid` (default: this process), zombies included, from
 * /proc/PID/task/TID/children; a poller that knows the threads passes them.
 */
export function listChildren(pid: number | 'self' = 'self', tasks: Array<string | number> = listTasks(pid)): number[] {
  const out: number[] = [];
  for (const tid of tasks) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'latin1');
    } catch {
      continue;
    }
    for (const word of text.split(' ')) if (word) out.push(Number(word));
  }
  return out;
}

/** Every descendant of `pid` (default: this process), parents before children. */
export function listDescendants(pid: number | 'self' = 'self'): number[] {
  const out = listChildren(pid);
  for (let i = 0; i < out.length; i++) out.push(...listChildren(out[i]));
  return out;
}
