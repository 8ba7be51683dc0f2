// 12: configuration and secrets (#27). 100 long-runs as in 1, side by side in
// each round without configuration and with: a top-level env file (20
// variables) and FILE__DB_PASSWORD; per service an env file (10 lines with
// quotes and comments), a secret file (environmentFromFiles) and a watched
// directory; 100 rendered files (`files:`, three substitutions each); all
// on a tmpfs where there is one (configRoot).
// Figures: the configuration stage as the configured init ran it, from its
// BERTH_DEBUG line (reads before the state dir is taken, writes after;
// the bundle from its code cache, as /init runs it): what it adds to the
// start; beside it the C floor (FLOOR_C: the same files read and written
// with the same system calls, nothing parsed);
// exec → every service up in both cases (the stage's milliseconds are inside
// that run's noise); PID-1 CPU over --cpu-seconds once up (100 inotify
// watches at rest).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
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
      const where = configRoot(dir);
      const config = c === 'config' ? configuration(where, names, join(where, 'out')) : undefined;
      const manifest = {
        version: 1,
        ...(config?.top ?? {}),
        services: Object.fromEntries(services.map((s) => [s.name, { execStart: ['/bin/sh', '-c', s.script], ...(config?.perService(s.name) ?? {}) }])),
      };
      const launch = berthLaunch(dir, manifest);
      return { ...launch, env: { ...launch.env, ...(config ? { ...config.env, BERTH_DEBUG: '1' } : {}) } };
    },
  };
}

const longRuns: Services = ({ fifo }) =>
  Array.from({ length: SERVICES }, (_, i) => ({ name: `svc${String(i).padStart(3, '0')}`, script: `echo up $$ > ${fifo}; exec sleep infinity` }));

/** The stage's milliseconds from the configured init's BERTH_DEBUG line. */
function stageOf(output: string): number | undefined {
  const m = /debug: configuration stage ([\d.]+) ms/.exec(output);
  if (!m) warnings.push(`config: the init said nothing of its configuration stage:\n${output.split('\n').slice(0, 5).join('\n')}`);
  return m ? Number(m[1]) : undefined;
}

/**
 * Where an instance's configuration files and rendered files go: a tmpfs (/dev/shm) when there is one, as a
 * Kubernetes Secret volume and the emptyDir or /run a read-only root renders into are; on this machine's ext4 each
 * run's journal commits made the C floor itself range over 6-22 ms, hiding what Berth adds. Else the instance's dir.
 */
function configRoot(dir: string): string {
  let root = roots.get(dir);
  if (root) return root;
  root = dir;
  try {
    if (statfsSync('/dev/shm').type === TMPFS_MAGIC) root = mkdtempSync('/dev/shm/berth-bench-config-');
  } catch {
    // no /dev/shm: the instance's own dir
  }
  roots.set(dir, root);
  return root;
}
const TMPFS_MAGIC = 0x01021994;
/** instance dir → its configuration's root */
const roots = new Map<string, string>();

function cleanup(): void {
  for (const [dir, root] of roots) if (root !== dir) rmSync(root, { recursive: true, force: true });
  roots.clear();
}

/** FLOOR_C over the configured init's files, or undefined without a C compiler. */
function floorOnce(dir: string): number | undefined {
  try {
    writeFileSync(join(dir, 'floor.c'), FLOOR_C);
    execFileSync('cc', ['-O2', '-o', join(dir, 'floor'), join(dir, 'floor.c')], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 });
    return Number(execFileSync(join(dir, 'floor'), [configRoot(dir)], { encoding: 'utf8', timeout: 30_000 }));
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
            r.stage.add(stageOf(inst.init.output()));
            r.floor.add(floorOnce(inst.dir));
          }
        });
      } catch (err) {
        warnings.push(`config ${c} run ${run + 1}: ${(err as Error).message}`);
      } finally {
        cleanup();
      }
    }
  }
  return r;
}

function report(r: ConfigResult): Section {
  const lines = [
    `12. configuration: ${SERVICES} long-runs, each with an env file, a secret file and a watched directory, and ${SERVICES} rendered files, beside none;`,
    '   the files on a tmpfs (/dev/shm) when there is one, as Secret volumes and a read-only root\'s emptyDirs are',
  ];
  for (const c of CASES) {
    const f = r.byCase[c];
    lines.push(`   ${label(NAMES[c])}up ${fmt(f.up.summary, 'ms')}; CPU over ${r.cpuSeconds} s once up ${fmt(f.cpuMs.summary, 'ms')}`);
  }
  lines.push(`   ${label('configuration stage')}${fmt(r.stage.summary, 'ms')} (in the configured init, from its BERTH_DEBUG line)`);
  lines.push(`   ${label('C floor')}${fmt(r.floor.summary, 'ms')} (the same ${2 * SERVICES + 2} files read and ${SERVICES} written, nothing parsed)`);
  const stage = r.stage.summary;
  const floor = r.floor.summary;
  const rest = r.byCase.config.cpuMs.summary;
  const targets: Target[] = [
    {
      what: `reading env and secret files and rendering templates, ${SERVICES} services`,
      // the C floor is what the file system itself costs for these files: what Berth adds beyond it is what it can answer for
      target: '< 5 ms added to the start, beyond the C floor (#27)',
      berth: stage ? `${num(stage.median, 2)} ms (${num(stage.min, 2)}-${num(stage.max, 2)})${floor ? `, ${num(stage.median - floor.median, 2)} over the floor` : ''}` : 'no data',
      pass: stage && floor ? stage.median - floor.median < 5 : undefined,
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

export const config: Benchmark<ConfigResult> = { name: 'config', measure, report, cleanup };
