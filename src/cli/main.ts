#!/usr/bin/env -S node --lite-mode --no-expose-wasm --no-memory-reducer --max-semi-space-size=1
// The `berth` binary: picks the command, runs it, turns its result into an exit code.
// Node flags (shebang and runtime/init, kept equal by a test): --lite-mode, V8's
// memory-first mode (no JIT: an idling init keeps no optimised code, ~3 MB less
// RSS with 100 services); --no-expose-wasm, because lite mode turns WebAssembly off
// and would otherwise say so on stderr at every start; --no-memory-reducer,
// because its idle-time GC is the only CPU an idle init would otherwise use
// (the init collects once itself when start-up is over: src/pid1/memory.ts);
// --max-semi-space-size=1 (MB), because the young generation grows to 2 x 8 MB
// in a burst of spawns.
// Figures: docs/PERFORMANCE.md.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { UsageError } from './args.js';
import { exitWith, runCommand } from './run.js';

const usage = `usage: berth <command> [options]

commands:
  init [STATE_DIR] [--manifest FILE]   run a manifest's services (the container's PID 1)
  validate FILE...                     check manifests and image definitions; print every problem
  status [STATE_DIR] [--json] [--watch]   a row per service of a running init, with CPU and memory
  start|stop|restart SERVICE...        control a running init's services
  signal SIGNAL SERVICE...             send a signal to services' main processes
  run JOB                              run a scheduled job now; exits with its exit code
  reload                               re-read the manifest: start added, stop removed, restart changed services
  logs SERVICE [-n N] [-f]             the recent output the init kept of a service; -f follows it
  plan [MANIFEST] [--format dot]       the stages and what waits on what, without running anything
  check [--ready|--live] [SERVICE...]  exit 0 when the long-runs are ready (running); for Kubernetes probes
  build IMAGE_FILE [-o OUT] [--tag NAME] [--kube]  write a build context (Dockerfile, manifest, files); --tag builds it; --kube adds kube.yaml
  options [PREFIX]                     list every image definition option
  apply-accounts SPEC [--root DIR]     add an image's users and groups (run inside image builds)

berth <command> --help shows more.`;

type Command = (args: string[]) => Promise<number>;

// Each command is loaded only when asked for, so PID 1 never loads what validate needs.
const commands: Record<string, () => Promise<{ run: Command; help: string }>> = {
  init: async () => {
    const { init, UsageError: BundledUsageError } = loadInit();
    const run: Command = (args) =>
      init.run(args).catch((err: unknown) => {
        throw err instanceof BundledUsageError ? new UsageError(err.message) : err;
      });
    return { run, help: init.help };
  },
  validate: async () => {
    const m = await import('./validate.js');
    return {
      run: m.validateCommand,
      help: 'berth validate FILE...\n  Checks manifests and image definitions (a YAML file with image:, imports:, ... and no version:)\n' +
        '  and prints every problem as FILE:LINE:COL: PATH: MESSAGE; warnings go to stderr.',
    };
  },
  status: async () => {
    const m = await import('./status.js');
    return { run: m.statusCommand, help: m.usage };
  },
  ...Object.fromEntries(
    (['start', 'stop', 'restart', 'signal', 'run'] as const).map((op) => [
      op,
      async () => {
        const m = await import('./control.js');
        return { run: (args: string[]) => m.controlCommand(op, args), help: m.usages[op] };
      },
    ]),
  ),
  reload: async () => {
    const m = await import('./control.js');
    return { run: m.reloadCommand, help: m.reloadUsage };
  },
  check: async () => {
    const m = await import('./check.js');
    return { run: m.checkCommand, help: m.usage };
  },
  logs: async () => {
    const m = await import('./logs.js');
    return { run: m.logsCommand, help: m.usage };
  },
  plan: async () => {
    const m = await import('./plan.js');
    return { run: m.planCommand, help: m.usage };
  },
  build: async () => {
    const m = await import('./build.js');
    return { run: (args) => m.buildCommand(args), help: m.usage };
  },
  options: async () => {
    const m = await import('./options.js');
    return { run: (args) => m.optionsCommand(args), help: m.usage };
  },
  'apply-accounts': async () => {
    const m = await import('./apply-accounts.js');
    return { run: m.applyAccountsCommand, help: m.usage };
  },
};

/**
 * `berth init` comes from one bundled script (scripts/bundle-init.mjs), which
 * loads in a few ms, not the ~70 ES modules it is built from (~40 ms with
 * Berth's node flags). There is no fallback to those: a missing bundle is an error.
 */
function loadInit(): typeof import('./init-main.js') {
  const bundle = fileURLToPath(new URL('init.bundle.cjs', import.meta.url));
  try {
    return createRequire(import.meta.url)(bundle);
  } catch (err) {
    if (existsSync(bundle)) throw err;
    throw new Error(`${bundle} is missing: build it with \`npm run build\` (npm ci does)`);
  }
}

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${usage}\n`);
    return name ? 0 : 2;
  }
  const load = commands[name];
  if (!load) {
    process.stderr.write(`berth: unknown command '${name}'\n\n${usage}\n`);
    return 2;
  }
  return runCommand(name, await load(), args);
}

exitWith(main(process.argv.slice(2)));
