// `berth plan [MANIFEST] [--format text|dot]`: the stages, their order and
// what waits on what, without running anything; for reviewing a manifest.
import { formatProblem, loadManifest, plan as planOf, type Manifest, type Plan, type Service } from '../manifest/index.js';
import { parseArgs, UsageError } from './args.js';
import { manifestPath } from './locations.js';

export const usage = `berth plan [MANIFEST] [--format text|dot]
  Prints the stages, their order and what waits on what, without running anything.
  MANIFEST   default $BERTH_MANIFEST, then /etc/berth/manifest.json
  --format   text (default), or dot for Graphviz: berth plan m.yaml --format dot | dot -Tsvg > plan.svg`;

export async function planCommand(args: string[]): Promise<number> {
  const parsed = parseArgs(args, ['--format']);
  if (parsed.positionals.length > 1) throw new UsageError('plan takes at most one MANIFEST');
  const format = (parsed.flags.get('--format') as string | undefined) ?? 'text';
  if (format !== 'text' && format !== 'dot') throw new UsageError(`--format is text or dot, not '${format}'`);
  const file = manifestPath(parsed.positionals[0]);
  const { manifest, problems } = await loadManifest(file);
  if (!manifest) {
    for (const p of problems) process.stderr.write(`${formatProblem(p)}\n`);
    process.stderr.write(`berth plan: ${file} does not validate\n`);
    return 1;
  }
  const plan = planOf(manifest);
  process.stdout.write(format === 'dot' ? renderDot(manifest, plan) : renderText(manifest, plan));
  return 0;
}

const STAGES: Array<{ key: keyof Plan; title: string }> = [
  { key: 'pre', title: 'oneshot-pre, one at a time' },
  { key: 'longRuns', title: 'long-run, started together, then supervised' },
  { key: 'post', title: 'oneshot-post, one at a time, once every long-run has started' },
  { key: 'jobs', title: 'scheduled jobs, armed when the long-runs start, each run on its schedule' },
];

/** The stages a plan shows: the jobs' only when there are jobs. */
const shown = (plan: Plan) => STAGES.filter(({ key }) => key !== 'jobs' || plan.jobs.length);

export function renderText(manifest: Manifest, plan: Plan): string {
  const lines: string[] = [];
  shown(plan).forEach(({ key, title }, i) => {
    lines.push(`stage ${i + 1}: ${title}`);
    if (!plan[key].length) lines.push('  (none)');
    plan[key].forEach((svc, n) => lines.push(`  ${key === 'longRuns' || key === 'jobs' ? '-' : `${n + 1}.`} ${svc.name}${svc.job ? `  ${svc.job.scheduleText}${svc.job.timezone ? ` (${svc.job.timezone})` : ''}` : ''}${waits(manifest, svc)}`));
  });
  const disabled = Object.values(manifest.services).filter((s) => !s.enable);
  if (disabled.length) lines.push(`disabled (never started): ${disabled.map((s) => s.name).join(', ')}`);
  return `${lines.join('\n')}\n`;
}

/** What a service waits for: oneshots to finish, long-runs to be ready. */
function waits(manifest: Manifest, svc: Service): string {
  if (!svc.after.length) return '';
  const ready = svc.after.filter((n) => manifest.services[n].type === 'long-run');
  const when = svc.job ? 'each run waits until' : 'starts once';
  return `  (after ${svc.after.join(', ')}${ready.length ? `; ${when} ${ready.join(', ')} ${ready.length === 1 ? 'is' : 'are'} ready` : ''})`;
}

export function renderDot(manifest: Manifest, plan: Plan): string {
  const q = (s: string): string => JSON.stringify(s);
  const lines = ['digraph berth {', '  rankdir=LR;', '  node [shape=box];'];
  shown(plan).forEach(({ key, title }, i) => {
    lines.push(`  subgraph cluster_${i} {`, `    label=${q(`stage ${i + 1}: ${title}`)};`);
    for (const svc of plan[key]) lines.push(`    ${q(svc.name)};`);
    lines.push('  }');
  });
  const enabled: Service[] = [...plan.pre, ...plan.longRuns, ...plan.post, ...plan.jobs];
  for (const svc of enabled) {
    for (const dep of svc.after) lines.push(`  ${q(dep)} -> ${q(svc.name)}${manifest.services[dep].type === 'long-run' ? ' [label="ready"]' : ''};`);
  }
  for (const svc of Object.values(manifest.services)) if (!svc.enable) lines.push(`  ${q(svc.name)} [style=dashed, label=${q(`${svc.name} (disabled)`)}];`);
  lines.push('}');
  return `${lines.join('\n')}\n`;
}
