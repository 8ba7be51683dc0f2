// Starts a service's process through the addon (spawn.c): clone with
// CLONE_VM|CLONE_VFORK like posix_spawn (no copy of the init's page tables),
// in a session of its own, as its user, with a parent-death signal armed
// after the user switch, so a SIGKILLed or aborted init takes its services'
// main processes with it, for the price of no extra exec. The child is not
// libuv's: its exit comes from the reaper (watchExit in reap.ts).
import { constants } from 'node:os';
import { loadNative, type Credentials, type SpawnRequest } from '../native/addon.js';

export type { Credentials };

// SIGKILL and not SIGTERM: the init is gone and nothing would escalate for a
// service that ignores TERM; what the service forked is left to the next
// init, which stops it with a grace period (see src/procfs/leftovers.ts).
const DEATH_SIGNAL = constants.signals.SIGKILL;

/** A spawn as callers ask for it: the parent-death signal is always DEATH_SIGNAL. */
export type NativeSpawn = Omit<SpawnRequest, 'deathSignal'>;

/**
 * Spawns; returns the pid, or the errno of a failed exec (ENOENT, EACCES…),
 * reported synchronously; with `cgroup`, the index in `cgroupProcs` of the
 * cgroup the child could not join (it never ran the program).
 */
export function spawnNative(req: NativeSpawn): { pid: number } | { errno: number; cgroup?: number } {
  // a literal of one shape for every call: copying with { ...req, deathSignal } cost 2-4 us of CPU a spawn
  const { file, argv, env, cwd, input, output, error, user, extraFd, cgroupProcs, childFirst } = req;
  const got = loadNative().spawn({ file, argv, env, cwd, input, output, error, user, deathSignal: DEATH_SIGNAL, extraFd, cgroupProcs, childFirst });
  if (got > 0) return { pid: got };
  // spawn.c puts 1 + the cgroup's index above the errno's 16 bits
  return -got >> 16 ? { errno: -got & 0xffff, cgroup: (-got >> 16) - 1 } : { errno: -got };
}

/**
 * Sends `signal` to `pid` only if it is still the process that started at
 * `startTicks` (field 22 of /proc/PID/stat), through a pidfd, so a reused pid
 * is never hit. False when that process is gone.
 */
export function signalIfStarted(pid: number, startTicks: number, signal: NodeJS.Signals): boolean {
  return loadNative().signalIfStarted(pid, startTicks, constants.signals[signal]) === 0;
}

/**
 * Marks what the init inherited from whatever started it (a shell's or a
 * test runner's pipe, an engine's --preserve-fds) close-on-exec: the init
 * keeps it, no child gets it. A service that inherited the write end of
 * someone's pipe would hold it open for as long as it runs. Returns why it
 * could not: no close_range(CLOSE_RANGE_CLOEXEC) and no /proc/self/fd.
 */
export function withholdInheritedFds(): string | undefined {
  const got = loadNative().cloexecInherited();
  return got < 0 ? `cannot mark inherited descriptors close-on-exec: /proc/self/fd: errno ${-got}` : undefined;
}
