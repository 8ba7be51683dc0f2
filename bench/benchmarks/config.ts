// 12: configuration and secrets (#27). 100 long-runs as in 1, side by side in
// each round without configuration and with: a top-level env file (20
// variables) and FILE__DB_PASSWORD; per service an env file (10 lines with
// quotes and comments), a secret file (environmentFromFiles) and a watched
// directory; 100 rendered files (`files:`, three substitutions each).
// Figures: the configuration stage alone, cold, in a fresh process with the
// init's node flags (bench/lib/config-stage.ts): what it adds to the start;
// beside it the C floor (FLOOR_C: the same files read and written with the
// same system calls, nothing parsed);
// exec → every service up in both cases (the stage's milliseconds are inside
// that run's noise); PID-1 CPU over --cpu-seconds once up (100 inotify
// watches at rest).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Benchmark, Section, Target } from '../lib/benchmark.js';
import { UP_TIMEOUT_MS, warnings, withInstance, type Services } from '../lib/instance.js';
import { waitQuiet } from '../lib/machine.js';
import { berthLaunch, PEERS, type Peer } from '../lib/peers.js';
import { cpuOf } from '../lib/proc.js';
import { delay } from '../lib/pid1.js';
import { figures, fmt, num, Samples } from '../lib/stats.js';
import type { Options } from '../options.js';
import { label, progress } from '../report.js';

const SERVICES = 100;
const SETTLE_MS = 5000;
const CASES = ['none', 'config'] as const;
type Case = (typeof CASES)[number];
const NAMES: Record<Case, string> = { none: 'no configuration', config: 'configured' };
const STAGE = new URL('../lib/config-stage.js', import.meta.url).pathname;
const RUNTIME_INIT = new URL('../../../runtime/init', import.meta.url).pathname;

/** Reads every file as the init does (stat, open, fstat, read, close) and writes the rendered ones (open, fchmod, write, close, rename). */
const FLOOR_C = String.raw`#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e3 + t.tv_nsec / 1e6; }
static void take(const char *p) {
  struct stat st; char buf[8192];
  if (stat(p, &st) != 0) { perror(p); _exit(1); }
  int fd = open(p, O_RDONLY | O_NONBLOCK | O_NOCTTY); fstat(fd, &st); read(fd, buf, sizeof buf); close(fd);
}
int main(int argc, char **argv) {
  char p[4096], q[4096]; const char *d = argv[1]; int n = 100; double t0 = now();
  snprintf(p, sizeof p, "%s/conf/common.env", d); take(p);
  snprintf(p, sizeof p, "%s/conf/db_password", d); take(p);
  for (int i = 0; i < n; i++) {
    snprintf(p, sizeof p, "%s/conf/svc%03d.env", d, i); take(p);
    snprintf(p, sizeof p, "%s/conf/secrets/svc%03d", d, i); take(p);
  }
  snprintf(p, sizeof p, "%s/floor-out", d); mkdir(p, 0755);
  for (int i = 0; i < n; i++) {
    snprintf(p, sizeof p, "%s/floor-out/.svc%03d.conf.tmp", d, i); snprintf(q, sizeof q, "%s/floor-out/svc%03d.conf", d, i);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0600); fchmod(fd, 0600);
    write(fd, "[svc000]\nhost = db.internal\npassword = correct-horse-battery-staple\nport = 8080\n", 74); close(fd); rename(p, q);
  }
  printf("%.3f\n", now() - t0);
  return 0;
}
`;

/** The init's node flags, from runtime/init's NODE line, so that the stage runs as it does in the init (lite mode, its heap). */
function initFlags(): string[] {
  const line = /^NODE='node\s+(.*?)\s*\/opt\/berth\/\S+'$/m.exec(readFileSync(RUNTIME_INIT, 'utf8'));
  return line ? line[1].split(/\s+/).filter(Boolean) : [];
}

export interface ConfigResult {
  byCase: Record<Case, Record<'up' | 'cpuMs', Samples>>;
  /** the configuration stage alone, cold, ms */
  stage: Samples;
  /** the same files read and written by C, ms */
  floor: Samples;
  cpuSeconds: number;
}

/** Writes the configuration files under DIR/conf and returns the manifest's configuration fields, rendering into OUT. */
function configuration(dir: string, names: string[], out: string): { top: object; perService: (name: string) => object; env: Record<string, string> } {
  const conf = join(dir, 'conf');
  mkdirSync(join(conf, 'secrets'), { recursive: true });
  mkdirSync(out, { recursive: true });
  writeFileSync(join(conf, 'common.env'), Array.from({ length: 20 }, (_, i) => `COMMON_${i}=value-${i}`).join('\n') + '\nDB_HOST=db.internal\n');
  writeFileSync(join(conf, 'db_password'), 'correct-horse-battery-staple\n');
  for (const name of names) {
    writeFileSync(join(conf, `${name}.env`), [
      `# ${name}'s settings`, `NAME=${name}`, 'PORT=8080', 'GREETING="hello, world"', "RAW='$not ${expanded}'",
      'export LEVEL=info', 'EMPTY=', 'URL=http://localhost:8080/path?q=1#frag', 'LIST=a,b,c', 'QUOTED="line one\\nline two"',
    ].join('\n') + '\n');
    writeFileSync(join(conf, 'secrets', name), `token-for-${name}-0123456789abcdef\n`);
    mkdirSync(join(conf, 'watch', name), { recursive: true });
  }
  const files = Object.fromEntries(names.map((name) => [join(out, `${name}.conf`), {
    template: `[${name}]\nhost = \${DB_HOST}\npassword = \${DB_PASSWORD:?required}\nport = \${PORT_${name}:-8080}\n`,
  }]));
  return {
    top: { environmentFiles: [join(conf, 'common.env')], files },
    perService: (name) => ({
      environmentFiles: [join(conf, `${name}.env`)],
      environmentFromFiles: { TOKEN: join(conf, 'secrets', name) },
      watch: { paths: [join(conf, 'watch', name)], signal: 'SIGHUP' },
    }),
    env: { FILE__DB_PASSWORD: join(conf, 'db_password') },
  };
}

function peerOf(c: Case): Peer {
  return {
    ...PEERS.berth,
    prepare(dir, services) {
      const names = services.map((s) => s.name);
      const config = c === 'config' ? configuration(dir, names, join(dir, 'out')) : undefined;
      const manifest = {
        version: 1,
        ...(config?.top ?? {}),
        services: Object.fromEntries(services.map((s) => [s.name, { execStart: ['/bin/sh', '-c', s.script], ...(config?.perService(s.name) ?? {}) }])),
      };
      const launch = berthLaunch(dir, manifest);
      return { ...launch, env: { ...launch.env, ...(config?.env ?? {}) } };
    },
  };
}

const longRuns: Services = ({ fifo }) =>
  Array.from({ length: SERVICES }, (_, i) => ({ name: `svc${String(i).padStart(3, '0')}`, script: `echo up $$ > ${fifo}; exec sleep infinity` }));

/** The stage alone in a fresh node, on the same configuration rendered elsewhere (so that nothing is found unchanged). */
function stageOnce(dir: string): number | undefined {
  const names = Array.from({ length: SERVICES }, (_, i) => `svc${String(i).padStart(3, '0')}`);
  const config = configuration(dir, names, join(dir, 'stage-out'));
  const manifest = { version: 1, ...config.top, services: Object.fromEntries(names.map((n) => [n, { execStart: ['/bin/true'], ...config.perService(n) }])) };
  const path = join(dir, 'stage-manifest.json');
  writeFileSync(path, JSON.stringify(manifest));
  const r = spawnSync(process.execPath, [...initFlags(), STAGE, path], { encoding: 'utf8', env: { ...process.env, ...config.env }, timeout: 30_000 });
  const parsed = r.status === 0 ? (JSON.parse(r.stdout) as { ms: number; files: number }) : undefined;
  if (!parsed || parsed.files !== SERVICES) {
    warnings.push(`config stage: exit ${r.status}, ${(r.stderr || r.stdout).slice(0, 300)}`);
    return undefined;
  }
  return parsed.ms;
}

/** FLOOR_C over the stage's files (stageOnce made them), or undefined without a C compiler. */
function floorOnce(dir: string): number | undefined {
  try {
    writeFileSync(join(dir, 'floor.c'), FLOOR_C);
    execFileSync('cc', ['-O2', '-o', join(dir, 'floor'), join(dir, 'floor.c')], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 });
    return Number(execFileSync(join(dir, 'floor'), [dir], { encoding: 'utf8', timeout: 30_000 }));
  } catch (err) {
    warnings.push(`config: no C floor: ${(err as Error).message.split('\n')[0]}`);
    return undefined;
  }
}

async function measure(o: Options): Promise<ConfigResult> {
  const r: ConfigResult = { byCase: Object.fromEntries(CASES.map((c) => [c, figures(['up', 'cpuMs'] as const)])) as ConfigResult['byCase'], stage: new Samples(), floor: new Samples(), cpuSeconds: o.cpuSeconds };
  if (PEERS.berth.missing) {
    warnings.push(`config: ${PEERS.berth.missing}`);
    return r;
  }
  for (let run = 0; run < o.runs; run++) {
    progress(`config: run ${run + 1}/${o.runs}`);
    for (const c of CASES.map((_, i) => CASES[(i + run) % CASES.length])) {
      const f = r.byCase[c];
      await waitQuiet();
      try {
        await withInstance(peerOf(c), longRuns, async (inst) => {
          const ups = await inst.fifo.waitFor((e) => e.text.startsWith('up '), SERVICES, UP_TIMEOUT_MS);
          f.up.add(Math.max(...ups.slice(0, SERVICES).map((e) => e.t)) - inst.init.t0);
          // as the limits bench: past the start-up collection and what the start burst left
          await delay(SETTLE_MS);
          const before = cpuOf([inst.pid]);
          await delay(o.cpuSeconds * 1000);
          f.cpuMs.add((cpuOf([inst.pid]).ns - before.ns) / 1e6);
          if (c === 'config') {
            r.stage.add(stageOnce(inst.dir));
            r.floor.add(floorOnce(inst.dir));
          }
        });
      } catch (err) {
        warnings.push(`config ${c} run ${run + 1}: ${(err as Error).message}`);
      }
    }
  }
  return r;
}

function report(r: ConfigResult): Section {
  const lines = [`12. configuration: ${SERVICES} long-runs, each with an env file, a secret file and a watched directory, and ${SERVICES} rendered files, beside none`];
  for (const c of CASES) {
    const f = r.byCase[c];
    lines.push(`   ${label(NAMES[c])}up ${fmt(f.up.summary, 'ms')}; CPU over ${r.cpuSeconds} s once up ${fmt(f.cpuMs.summary, 'ms')}`);
  }
  lines.push(`   ${label('configuration stage')}${fmt(r.stage.summary, 'ms')} (alone, cold, in a fresh node with the init's flags)`);
  lines.push(`   ${label('C floor')}${fmt(r.floor.summary, 'ms')} (the same ${2 * SERVICES + 2} files read and ${SERVICES} written, nothing parsed)`);
  const stage = r.stage.summary;
  const rest = r.byCase.config.cpuMs.summary;
  const targets: Target[] = [
    {
      what: `reading env and secret files and rendering templates, ${SERVICES} services`,
      target: '< 5 ms added to the start (#27)',
      berth: stage ? `${num(stage.median, 2)} ms (${num(stage.min, 2)}-${num(stage.max, 2)})` : 'no data',
      pass: stage ? stage.median < 5 : undefined,
      peers: `C floor ${fmt(r.floor.summary, 'ms')}; up without: ${fmt(r.byCase.none.up.summary, 'ms')}, with: ${fmt(r.byCase.config.up.summary, 'ms')}`,
    },
    {
      what: `PID-1 CPU at rest, ${SERVICES} watched directories`,
      target: '0 while nothing changes (#27)',
      berth: rest ? `${num(rest.median, 2)} ms over ${r.cpuSeconds} s` : 'no data',
      // one 10-ms tick of slack: the kernel accounts CPU in ticks
      pass: rest ? rest.median <= 10 : undefined,
      peers: `without: ${fmt(r.byCase.none.cpuMs.summary, 'ms')}`,
    },
  ];
  return { lines, targets };
}

export const config: Benchmark<ConfigResult> = { name: 'config', measure, report };
