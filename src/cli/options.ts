// `berth options [PREFIX]`: every image definition option, from its declaration.
import { optionsText } from '../image/generated.js';
import { parseArgs, UsageError } from './args.js';

export const usage = `berth options [PREFIX]
  Lists every image definition option (type, default, how definitions merge,
  description, example); with PREFIX only those whose path starts with it,
  e.g. berth options systemd.services. The same list: docs/options.md.`;

export async function optionsCommand(args: string[], out: { write(text: string): unknown } = process.stdout): Promise<number> {
  const { positionals } = parseArgs(args, []);
  if (positionals.length > 1) throw new UsageError('give at most one PREFIX');
  const text = optionsText(positionals[0]);
  if (!text) {
    process.stderr.write(`berth options: no option starts with '${positionals[0]}'\n`);
    return 1;
  }
  out.write(text);
  return 0;
}
