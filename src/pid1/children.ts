// Lists processes from /proc: the kernel keeps each thread's children apart, so all threads are read.
import { readdirSync, readFileSync } from 'node:fs';

/** Direct children of `pid` (default: this process), from /proc/PID/task/TID/children. */
export function listChildren(pid: number | 'self' = 'self'): number[] {
  const out: number[] = [];
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out; // the process is gone
  }
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
