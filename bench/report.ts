// The printed report: a header about the machine and peers, a section per
// benchmark as it finishes, then the targets table and any warnings.
// docs/PERFORMANCE.md's results table is copied from this output.
import { execFileSync } from 'node:child_process';
import { cpus, release as kernelRelease } from 'node:os';
import type { Section, Target, Versus } from './lib/benchmark.js';
import { busyOver } from './lib/machine.js';
import { PEERS, ROOT, type PeerName } from './lib/peers.js';
import { fmt, mb, num, verdict, type Samples, type Summary } from './lib/stats.js';
import { absent, type Options } from './options.js';

export const out = (line = ''): boolean => process.stdout.write(`${line}\n`);
/** progress goes to stderr, so stdout is the report alone */
export const progress = (line: string): boolean => process.stderr.write(`  … ${line}\n`);

export function label(name: string): string {
  return name.padEnd(22);
}

/** A peer's row: its value, or why it did not run. */
export function peerLine(o: Options, name: PeerName, value: string): string {
  return `${label(name)}${absent(o, name) ?? value}`;
}

export function busyLine(busy: Samples): string {
  const b = busy.summary;
  return b ? `   (machine busy in the 250 ms before each run: median ${num(b.median * 100, 0)}%, max ${num(b.max * 100, 0)}%)` : '';
}

export function ratioText(r: Summary | undefined, what: string): string {
  return r ? `${what} ${num(r.median, 2)}x (per-run ratios: min ${num(r.min, 2)}, max ${num(r.max, 2)})` : '';
}

/** The baseline's row (--baseline) under Berth's: its value, and berth/baseline per run; nothing without it. */
export function baselineRow(o: Options, value: string, ratio: Summary | undefined, name = 'baseline'): string[] {
  return o.baseline ? [`   ${label(name)}${value}${ratio ? `   ${ratioText(ratio, 'berth/baseline')}` : ''}`] : [];
}

/** Berth and its baseline (--baseline) side by side for the table at the end; `unit` MB reads kB. */
export function versus(what: string, berth: Samples, baseline: Samples, unit: 'ms' | 'MB'): Versus {
  const show = (s: Samples): string => median(unit === 'MB' ? mbS(s.summary) : s.summary, unit);
  return { what, berth: show(berth), baseline: show(baseline), ratio: berth.ratioTo(baseline) };
}

/** A summary of kB as MB. */
export function mbS(s: Summary | undefined): Summary | undefined {
  return s && { ...s, median: mb(s.median), min: mb(s.min), max: mb(s.max) };
}

/** "123 ms" of a median, or "no data". */
export function median(s: Summary | undefined, unit: string, digits?: number): string {
  return s ? `${num(s.median, digits)} ${unit}` : 'no data';
}

export interface Memory {
  rss: Samples;
  pss: Samples;
  uss: Samples;
}

/**
 * PID-1 memory of Berth with 1, 10 and 100 services against the bare-node
 * floor measured alongside (ratios per run; USS, the pages no other process
 * shares, as MB above the floor's). Printed after start-up and again
 * after the idle window; `pssRatio` adds the PSS ratio too.
 */
export function berthMemoryLines(floor: Memory, berth: Record<1 | 10 | 100, Memory>, pssRatio: boolean): string[] {
  const lines = [
    `   ${label('bare node (floor)')}RSS ${fmt(mbS(floor.rss.summary), 'MB')}; PSS ${fmt(mbS(floor.pss.summary), 'MB')}; USS ${fmt(mbS(floor.uss.summary), 'MB')}`,
  ];
  for (const n of [1, 10, 100] as const) {
    const rr = berth[n].rss.ratioTo(floor.rss);
    const pss = `PSS ${fmt(mbS(berth[n].pss.summary), 'MB')}`;
    const pr = berth[n].pss.ratioTo(floor.pss);
    const uss = berth[n].uss.summary;
    const floorUss = floor.uss.summary;
    const ussAbove = uss && floorUss ? ` (+${num(mb(uss.median - floorUss.median), 1)} MB)` : '';
    lines.push(
      `   ${label(`berth, ${n} service${n === 1 ? '' : 's'}`)}RSS ${fmt(mbS(berth[n].rss.summary), 'MB')} = ${rr ? num(rr.median, 2) : '?'}x floor; ${pss}${pssRatio ? ` = ${pr ? num(pr.median, 2) : '?'}x floor` : ''}; USS ${fmt(mbS(uss), 'MB')}${ussAbove}`,
    );
  }
  return lines;
}

/** The baseline's PID-1 memory beside Berth's (--baseline), with berth/baseline PSS per run; nothing without it. */
export function baselineMemoryLines(o: Options, berth: Record<number, Memory>, baseline: Record<number, Memory>, counts: number[]): string[] {
  if (!o.baseline) return [];
  return counts.map((n) => {
    const b = baseline[n];
    // "baseline, 100 services" would not fit the label column
    return `   ${label(`baseline, ${n.toLocaleString('en-US')}`)}RSS ${fmt(mbS(b.rss.summary), 'MB')}; PSS ${fmt(mbS(b.pss.summary), 'MB')}; USS ${fmt(mbS(b.uss.summary), 'MB')}   ${ratioText(berth[n].pss.ratioTo(b.pss), 'berth/baseline PSS') || 'no data'}`;
  });
}

function version(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 5000 }).trim().split('\n')[0];
  } catch {
    return 'unknown';
  }
}

/** `git describe --always --dirty` of a checkout: which commit, and whether it has uncommitted changes. */
function gitDescribe(dir: string): string {
  return version('git', ['-C', dir, 'describe', '--always', '--dirty']);
}

export async function printHeader(o: Options): Promise<void> {
  out(`Berth benchmarks — ${new Date().toISOString()}`);
  out(`machine: ${cpus().length} cores (${cpus()[0]?.model.trim() ?? '?'}), Linux ${kernelRelease()}, node ${process.version}`);
  out(`peers: s6 ${PEERS.s6.missing ? 'not installed' : version('dpkg-query', ['-W', '-f', '${Version}', 's6'])}, tini ${PEERS.tini.missing ? 'not installed' : version('tini', ['--version'])}`);
  out(`machine busy at start: ${num((await busyOver(1000)) * 100, 0)}% of all cores over 1 s (other work skews every figure; each timed run first waits up to 2 s for < 25%)`);
  if (o.baseline) out(`baseline: Berth from ${o.baseline.root} at ${gitDescribe(o.baseline.root)} (this checkout: ${gitDescribe(ROOT)}), run as /init runs it, beside Berth in every run`);
  out(`runs: ${o.runs} (100 services; at most 3 for 1 and 10); idle-CPU window: ${o.cpuSeconds} s; orphans: ${o.zombies} × ${o.zombieRuns} run(s) per mode`);
}

export function printSection(section: Section): void {
  out();
  for (const line of section.lines) out(line);
}

export async function printSummary(targets: Target[], againstBaseline: Versus[], warnings: string[], startedMs: number, nowMs: number): Promise<void> {
  out();
  out('Targets (Berth medians)');
  for (const t of targets) out(`   ${verdict(t.pass)}  ${t.what.padEnd(30)} ${t.target.padEnd(33)} berth ${t.berth.padEnd(22)} ${t.peers}`);
  if (againstBaseline.length) {
    out();
    out('Berth against the baseline (medians; berth/baseline: the median of the per-run ratios, > 1 is Berth slower or larger)');
    for (const v of againstBaseline) out(`   ${v.what.padEnd(36)} berth ${v.berth.padEnd(10)} baseline ${v.baseline.padEnd(10)} ${ratioText(v.ratio, 'berth/baseline') || 'no data'}`);
  }
  if (warnings.length) {
    out();
    out('Warnings');
    for (const w of warnings) out(`   - ${w.replace(/\n/g, '\n     ')}`);
  }
  out();
  out(`done in ${num((nowMs - startedMs) / 1000, 0)} s; machine busy at end: ${num((await busyOver(1000)) * 100, 0)}%`);
}
