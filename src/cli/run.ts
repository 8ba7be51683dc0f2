// What every berth command shares, whichever entry runs it (main.js, or the
// init bundle as /init's program): --help, a usage error as the command's
// help with exit 2, and a bug as one line with exit 70.
import { UsageError } from './args.js';

export interface Command {
  run(args: string[]): Promise<number>;
  help: string;
}

export async function runCommand(name: string, command: Command, args: string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`${command.help}\n`);
    return 0;
  }
  try {
    return await command.run(args);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`berth ${name}: ${err.message}\n\n${command.help}\n`);
      return 2;
    }
    throw err;
  }
}

/** Ends the process with the command's exit code. */
export function exitWith(code: Promise<number>): void {
  code.then(
    (c) => process.exit(c),
    (err: unknown) => {
      // a bug, not a user error: one line, and the stack for a bug report when asked
      const detail = err instanceof Error ? (process.env.BERTH_DEBUG ? (err.stack ?? err.message) : err.message) : String(err);
      process.stderr.write(`berth: internal error: ${detail}${process.env.BERTH_DEBUG ? '' : ' (BERTH_DEBUG=1 shows the stack)'}\n`);
      process.exit(70);
    },
  );
}
