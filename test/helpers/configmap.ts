// A Kubernetes ConfigMap or Secret volume as the kubelet's atomic writer
// keeps it: the data in a timestamped directory `..2026_12_05_…`, `..data`
// a symlink to it, each key a symlink `key -> ..data/key`. An update writes
// a new timestamped directory, points a temp symlink `..data_tmp` at it,
// renames that over `..data` (the one atomic step) and removes the old
// directory.
import { mkdirSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

let serial = 0;

function writeData(dir: string, data: Record<string, string>): string {
  const stamp = `..2026_12_05_10_30_${String(serial++).padStart(2, '0')}.${process.pid}`;
  mkdirSync(join(dir, stamp));
  for (const [key, value] of Object.entries(data)) writeFileSync(join(dir, stamp, key), value);
  return stamp;
}

/** Makes the volume at `dir` (made here) holding `data`. */
export function makeConfigMap(dir: string, data: Record<string, string>): void {
  mkdirSync(dir);
  symlinkSync(writeData(dir, data), join(dir, '..data'));
  for (const key of Object.keys(data)) symlinkSync(join('..data', key), join(dir, key));
}

/** One update of the volume at `dir` to `data` (the same keys), step by step as the kubelet does it. */
export function updateConfigMap(dir: string, data: Record<string, string>): void {
  const old = readlinkSync(join(dir, '..data'));
  symlinkSync(writeData(dir, data), join(dir, '..data_tmp'));
  renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  rmSync(join(dir, old), { recursive: true });
}
