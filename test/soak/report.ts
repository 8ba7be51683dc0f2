// What a run prints: a broken invariant at once, with what led to it (the
// driver's last actions, the init's own last lines), and the summary at the
// end: duration, actions by kind, lines, fds, RSS, zombies, restarts.
import type { Followers } from './followers.js';
import type { Init } from './launch.js';
import type { RelayChecker } from './lines.js';
import { FD_SLACK, mib, RSS_FACTOR, RSS_SLACK_KB, type Monitor } from './monitor.js';
import type { SoakOptions } from './options.js';
import type { Ending } from './shutdown.js';
import { clock, type Soak } from './soak.js';

export function replayLine(opts: SoakOptions): string {
  return `npm run soak -- --seconds ${opts.durationMs / 1000} --seed ${opts.seed}${opts.pid1 ? '' : ' --no-pid1'}${opts.raceReload ? '' : ' --no-reload-race'}${opts.allowStallSplits ? ' --allow-stall-splits' : ''}`;
}

export interface Seen {
  opts: SoakOptions;
  soak: Soak;
  dir: string;
  relay: RelayChecker;
  /** the init's own last lines, each with the time it was read */
  initLines: string[];
  init?: Init;
}

export function failureReport(s: Seen): string {
  const f = s.soak.failure!;
  return [
    `\nSOAK FAILED at ${clock(f.at)}: ${f.invariant}`,
    `  ${f.detail}`,
    `  seed ${s.opts.seed}; replay: ${replayLine(s.opts)}`,
    `  kept for a look: ${s.dir} (manifest.json, the programs, the state dir)`,
    `  the driver's last actions (a command is listed when it answered):`,
    ...s.soak.history.map((l) => `    ${l}`),
    `  the init's own last lines ([berth] …):`,
    ...s.initLines.slice(-40).map((l) => `    ${l}`),
    `  the last lines on its stdout:`,
    ...s.relay.recent.slice(-10).map((l) => `    ${l.slice(0, 200)}`),
    ...(s.init?.stderr.length ? ['  its stderr:', ...s.init.stderr.slice(-10).map((l) => `    ${l}`)] : []),
    '',
  ].join('\n');
}

export function summary(s: Seen & { monitor: Monitor; followers: Followers; drivenMs: number; restartsSeen: number; ending: Ending; limitMs: number }): string {
  const { soak, relay, monitor, ending } = s;
  const c = relay.counts;
  const total = [...soak.actions.values()].reduce((a, b) => a + b, 0);
  const tally = (m: Map<string, number>): string[] => [...m].sort((a, b) => b[1] - a[1]).map(([k, n]) => `    ${String(n).padStart(6)}  ${k}`);
  const lines = [
    `\nsoak: ${soak.failed ? 'FAILED' : 'PASSED'}, seed ${s.opts.seed}, the init ${s.opts.pid1 ? 'as PID 1' : 'as a plain process'}: ${clock(soak.elapsed()).slice(1)} in all, ${clock(s.drivenMs).slice(1)} driven`,
    `  actions: ${total}`,
    ...tally(soak.actions),
    `  lines relayed: ${c.lines} (${mib(c.bytes / 1024)}): ${c.writerLines} writer lines checked whole, ${c.splitByStall} of them in pieces after a SIGSTOP we sent${s.opts.allowStallSplits ? `, ${c.splitUnexplained} in pieces with no SIGSTOP (the init read late; allowed)` : ''}, ${relay.cutRuns()} runs ending in a line cut by the writer's death; ${c.initLines} of the init's own, ${c.otherLines} other service lines`,
    `  logs followers: ${s.followers.lines} lines checked`,
    `  berth status --json checks: ${monitor.statusChecks}`,
    `  command round trips: ${[...soak.timings].map(([k, t]) => `${k} ${t.n}× mean ${Math.round(t.totalMs / t.n)} ms, max ${t.maxMs} ms`).join('; ')}`,
    `  PID 1 fds: max ${monitor.maxFds} (warm-up max ${monitor.baseFds}; bound ${monitor.fdBound} = warm-up max + ${FD_SLACK})`,
    `  PID 1 RSS: max ${mib(monitor.maxRssKb)} (warm-up max ${mib(monitor.baseRssKb)}; bound ${mib(monitor.rssBoundKb)} = warm-up max × ${RSS_FACTOR} + ${RSS_SLACK_KB / 1024} MiB)`,
    `  zombies: ${monitor.zombiesSeen} seen, max age ${monitor.maxZombieAgeMs} ms${monitor.oldestZombie ? ` (${monitor.oldestZombie})` : ''}; bound 1000 ms`,
    `  restarts seen: ${s.restartsSeen} in the init's log; counters at the last status: ${monitor.lastStatus.filter((r) => r.restarts).map((r) => `${r.name} ${r.restarts}`).join(', ') || 'none'}`,
    `  shutdown: ${ending.exitMs === undefined ? 'no exit in time' : `SIGTERM to exit ${ending.exit.code} in ${(ending.exitMs / 1000).toFixed(1)} s (limit ${s.limitMs / 1000} s)`}, ${ending.left.length ? `${ending.left.length} processes left` : 'nothing left'}`,
    ...(soak.notes.size ? ['  notes:', ...tally(soak.notes)] : []),
  ];
  if (soak.failure) lines.push(`  FAILED at ${clock(soak.failure.at)}: ${soak.failure.invariant}: ${soak.failure.detail}`, `  replay: ${replayLine(s.opts)}`, `  kept: ${s.dir}`);
  return `${lines.join('\n')}\n`;
}
