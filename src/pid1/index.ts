// PID-1 duties, one file each: reap.ts (zombies), kill-all.ts (the final sweep),
// children.ts (who is left), posix-spawn.ts (cheap spawns),
// lock.ts (the state dir's lock), libc.ts (the native calls they need).
export { owned, reapZombies, startReaper, onChildEvent, notifyChildEvent, watchExit } from './reap.js';
export { makePipe, posixSpawn, setPipeSize } from './posix-spawn.js';
export { killAll, isPid1 } from './kill-all.js';
export { listChildren, listDescendants } from './children.js';
export { becomeSubreaper, decodeWaitStatus } from './libc.js';
export { lockFile } from './lock.js';
