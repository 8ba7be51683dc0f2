// PID-1 duties, one file each: reap.ts (zombies), kill-all.ts (the final
// sweep), children.ts (who is left), spawn.ts (cheap spawns that die with the
// init), stop-processes.ts (a dead init's leftovers), lock.ts (the state
// dir's lock), memory.ts (start-up's garbage); libc.ts (wait, flock, prctl)
// holds the native calls they need, through src/native's addon.
export { owned, reapZombies, startReaper, onChildEvent, notifyChildEvent, watchExit } from './reap.js';
export { spawnNative, signalIfStarted, withholdInheritedFds, type Credentials, type NativeSpawn } from './spawn.js';
export { loadNative, NativeAddonMissing } from '../native/addon.js';
export { collectStartupGarbage } from './memory.js';
export { killAll, isPid1 } from './kill-all.js';
export { stopProcesses } from './stop-processes.js';
export { listChildren, listDescendants } from './children.js';
export { becomeSubreaper, decodeWaitStatus, exitOnStopSignals } from './libc.js';
export { isLocked, lockFile } from './lock.js';
