// PID 1's own memory after start-up. V8's memory reducer is off in PID 1
// (its collection ~8 s after start-up was the only CPU an idle init used),
// so start-up's garbage, and the young generation's semi-spaces grown in a
// burst of spawns, would stay for the init's whole life: ~2 MB with 100
// services, given back by one memory-reducing collection (~10 ms) soon
// after every stage is done.
import { loadNative } from '../native/addon.js';

export function collectStartupGarbage(): void {
  loadNative().collectStartupGarbage();
}
