// `berth validate FILE...`: checks every file, prints every problem as
// FILE:LINE:COL: PATH: MESSAGE, then one summary line.
import { formatProblem, loadManifest, type Problem } from '../manifest/index.js';
import { parseArgs, UsageError } from './args.js';

export async function validateCommand(args: string[], out: { write(text: string): unknown } = process.stdout): Promise<number> {
  const files = parseArgs(args, []).positionals;
  if (files.length === 0) throw new UsageError('name at least one file to check');
  let problems = 0;
  let badFiles = 0;
  for (const file of files) {
    const found = await checkFile(file);
    for (const problem of found) out.write(`${formatProblem(problem)}\n`);
    problems += found.length;
    if (found.length) badFiles++;
  }
  out.write(`${summary(problems, badFiles, files.length)}\n`);
  return problems ? 1 : 0;
}

/** The one place that decides how a file is checked; image definitions (issue 3) will branch here. */
async function checkFile(file: string): Promise<Problem[]> {
  // strict: validation can afford the extra pass that catches duplicate JSON keys.
  return (await loadManifest(file, { strict: true })).problems;
}

function summary(problems: number, badFiles: number, files: number): string {
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  if (problems === 0) return `${plural(files, 'file')} OK`;
  return `${plural(problems, 'problem')} in ${badFiles} of ${plural(files, 'file')}`;
}
