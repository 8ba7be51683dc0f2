// errno numbers as the names an operator can look up (EMFILE, not 24).
import { constants } from 'node:os';

export function errnoName(errno: number): string {
  return Object.entries(constants.errno).find(([, n]) => n === errno)?.[0] ?? `errno ${errno}`;
}
