// `berth apply-accounts SPEC [--root DIR]`: run inside an image build (the
// generated Dockerfile does it) to merge the accounts of an image definition
// into /etc/passwd, /etc/group and /etc/shadow, keeping the existing ones.
import { readFileSync } from 'node:fs';
import { type AccountsSpec, applyAccounts } from '../image/accounts.js';
import { parseArgs, UsageError } from './args.js';

export const usage = `berth apply-accounts SPEC_FILE [--root DIR]
  Adds the users and groups of SPEC_FILE (written by berth build as
  /etc/berth/accounts.json) to DIR/etc/passwd, group, shadow and gshadow, and
  creates their homes. Existing accounts are kept; new ids avoid used ones.
  --root  default /`;

export async function applyAccountsCommand(args: string[]): Promise<number> {
  const { positionals, flags } = parseArgs(args, ['--root']);
  if (positionals.length !== 1) throw new UsageError('name exactly one accounts spec file');
  const root = (flags.get('--root') as string | undefined) ?? '/';
  let spec: AccountsSpec;
  try {
    spec = JSON.parse(readFileSync(positionals[0], 'utf8')) as AccountsSpec;
  } catch (error) {
    process.stderr.write(`berth apply-accounts: cannot read ${positionals[0]}: ${(error as Error).message}\n`);
    return 1;
  }
  if (spec?.version !== 1 || !Array.isArray(spec.users) || !Array.isArray(spec.groups)) {
    process.stderr.write(`berth apply-accounts: ${positionals[0]} is not an accounts spec (version 1, users, groups)\n`);
    return 1;
  }
  try {
    const result = applyAccounts(spec, root);
    for (const line of result.created) process.stdout.write(`created ${line}\n`);
    for (const line of result.kept) process.stdout.write(`kept existing ${line}\n`);
    return 0;
  } catch (error) {
    process.stderr.write(`berth apply-accounts: ${(error as Error).message}\n`);
    return 1;
  }
}
