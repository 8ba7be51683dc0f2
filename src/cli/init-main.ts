// The init bundle's entry (scripts/bundle-init.mjs bundles this file and all
// it loads into init.bundle.cjs). main.js requires the bundle for
// `berth init`; /init runs it as the program (through init-start.cjs, which
// compiles it from its code cache), so PID 1 also skips the ES module loader
// that Node 20 sets up for main.js (~10 ms with Berth's node flags).
import { UsageError } from './args.js';
import { initCommand, usage } from './init.js';
import { exitWith, runCommand, type Command } from './run.js';

export const init: Command = { run: initCommand, help: usage };
/** main.js tells the bundle's usage errors by this copy of the class. */
export { UsageError };

// CommonJS globals exist only in the bundle; true when node was started on it
if (typeof module !== 'undefined' && require.main === module) {
  restoreStashed(process.env);
  const [name, ...args] = process.argv.slice(2);
  if (name === 'init') exitWith(runCommand(name, init, args));
  else {
    process.stderr.write(`usage: ${process.argv[1]} init [STATE_DIR] [--manifest FILE] [-- COMMAND [ARG...]]\n(the other commands: berth, dist/src/cli/main.js)\n`);
    process.exitCode = 2;
  }
}

/**
 * /init starts node without NODE_EXTRA_CA_CERTS, kept in BERTH_NODE_EXTRA_CA_CERTS
 * instead: Node parses that CA bundle at start, before any code runs (40-90 ms
 * and ~1.8 MB on the bench machine), and PID 1 makes no TLS connection. The
 * services get it back unchanged.
 */
function restoreStashed(env: NodeJS.ProcessEnv): void {
  const stashed = env.BERTH_NODE_EXTRA_CA_CERTS;
  if (stashed === undefined) return;
  env.NODE_EXTRA_CA_CERTS = stashed;
  delete env.BERTH_NODE_EXTRA_CA_CERTS;
}
