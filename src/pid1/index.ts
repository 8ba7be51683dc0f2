// PID-1 duties, one file each: reap.ts (zombies), kill-all.ts (the final sweep),
// children.ts (who is left), libc.ts (the native calls they need).
export { owned, reapZombies, startReaper, onChildEvent, notifyChildEvent } from './reap.js';
export { killAll, isPid1 } from './kill-all.js';
export { listChildren, listDescendants } from './children.js';
export { becomeSubreaper, decodeWaitStatus } from './libc.js';
