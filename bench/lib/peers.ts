// The inits under test, each given the same services: Berth (this repo's
// build, and with --baseline another checkout's, run the same way), s6
// (`s6-svscan` over one service dir per service), tini (one child), a bare
// idle Node (the memory floor every Node PID 1 starts from), and the spawn
// floor: a minimal C program that posix_spawns every service and then only
// reaps (what no init can beat on this machine).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { childrenOf, commOf } from './proc.js';

/** 'baseline': Berth from another checkout (--baseline DIR), run the same way */
export type PeerName = 'berth' | 'baseline' | 's6' | 'tini' | 'node' | 'spawner';

export interface ServiceSpec {
  name: string;
  /** run by /bin/sh */
  script: string;
  restart?: boolean;
  /** Berth only: its `readiness`, `liveness` and `after`, as the manifest spells them */
  readiness?: object;
  liveness?: object;
  after?: string[];
}

/** A spec only Berth's manifest can say (readiness, liveness, dependencies). */
function berthOnly(s: ServiceSpec): boolean {
  return s.readiness !== undefined || s.liveness !== undefined || s.after !== undefined;
}

export interface Launch {
  argv: string[];
  env: NodeJS.ProcessEnv;
}

export interface Peer {
  name: PeerName;
  /** undefined when it can run here, else why not ("not installed") */
  missing?: string;
  /** how many services it can run: tini runs one child; the bare node none */
  maxServices: number;
  /** writes its configuration under `dir`; returns what to exec as PID 1 */
  prepare(dir: string, services: ServiceSpec[]): Launch;
  /** the process whose child a service's process is (for restart timing) */
  supervisorOf(pid1: number, service: string): number | undefined;
  /** the init's own processes (PID 1, plus s6-supervise for s6), for memory and CPU */
  tree(pid1: number): number[];
  /** how the bench ends it: Berth gets a real SIGTERM shutdown, the peers are simply killed */
  stopSignal: NodeJS.Signals;
}

export const BERTH_MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
/** This checkout: the Berth under test. */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export function findProgram(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(delimiter)) {
    const path = join(dir || '.', name);
    if (existsSync(path)) return path;
  }
  for (const dir of ['/usr/sbin', '/sbin', '/usr/bin', '/bin']) if (existsSync(join(dir, name))) return join(dir, name);
  return undefined;
}

/** The node flags of main.js's shebang (`#!/usr/bin/env -S node --lite-mode ...`), so Berth runs as its binary and /init run it. */
export const BERTH_NODE_FLAGS: string[] = ((): string[] => {
  try {
    const first = readFileSync(BERTH_MAIN, 'latin1').split('\n', 1)[0];
    const m = /^#!\S*env\s+(?:-S\s+)?node\s+(.*)$/.exec(first) ?? /^#!\S*node\s+(.*)$/.exec(first);
    return m ? m[1].trim().split(/\s+/).filter(Boolean) : [];
  } catch {
    return [];
  }
})();

export function baseEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  env.PATH ??= '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
  delete env.S6_DONT_TERMINATE_ON_ERROR;
  delete env.BERTH_MANIFEST;
  delete env.NODE_OPTIONS;
  // Node parses this CA bundle at every start (40-90 ms, varying by tens of ms
  // here): noise in every node figure, and /init drops it for PID 1 anyway
  delete env.NODE_EXTRA_CA_CERTS;
  return env;
}

/** What /init execs: `root`'s runtime/init NODE line (its node flags and entry), with /opt/berth read as `root`. */
export function initCommand(root = ROOT): string[] {
  const text = readFileSync(join(root, 'runtime/init'), 'utf8');
  const m = /^NODE='node\s+(.*?)\s*\/opt\/berth\/(\S+)'$/m.exec(text);
  if (!m) throw new Error("runtime/init has no NODE='node FLAGS /opt/berth/ENTRY' line to run as /init does");
  return [process.execPath, ...m[1].split(/\s+/).filter(Boolean), join(root, m[2])];
}

/** Berth from `root` on `manifest` (written into `dir`) as /init runs it in a container, with BERTH_BENCH_NODE_FLAGS. */
export function berthLaunch(dir: string, manifest: object, root = ROOT): Launch {
  const manifestPath = join(dir, 'manifest.json');
  writeFileSync(manifestPath, JSON.stringify(manifest, null, 1));
  const extra = (process.env.BERTH_BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  const [node, ...entry] = initCommand(root);
  return {
    argv: [node, ...extra, ...entry, 'init', join(dir, 'state'), '--manifest', manifestPath],
    env: { ...baseEnv(), S6_KILL_GRACETIME: '1000' },
  };
}

/** Berth built in the checkout at `root`, as a peer: this one, or the baseline it is compared with. */
export function berthPeer(name: 'berth' | 'baseline', root: string, missing: string | undefined): Peer {
  return {
    name,
    missing,
    maxServices: Infinity,
    prepare(dir, services) {
      const manifest = {
        version: 1,
        services: Object.fromEntries(
          services.map((s) => [
            s.name,
            {
              execStart: ['/bin/sh', '-c', s.script],
              ...(s.restart ? { restartOnFailure: true } : {}),
              ...(s.readiness ? { readiness: s.readiness } : {}),
              ...(s.liveness ? { liveness: s.liveness } : {}),
              ...(s.after ? { after: s.after } : {}),
            },
          ]),
        ),
      };
      return berthLaunch(dir, manifest, root);
    },
    supervisorOf: (pid1) => pid1,
    tree: (pid1) => [pid1],
    stopSignal: 'SIGTERM',
  };
}

const berth = berthPeer('berth', ROOT, existsSync(BERTH_MAIN) ? undefined : `not built (${BERTH_MAIN} missing: npm run build)`);

const S6_SVSCAN = findProgram('s6-svscan');

const s6: Peer = {
  name: 's6',
  missing: S6_SVSCAN && findProgram('s6-supervise') ? undefined : 'not installed (apt-get install -y s6)',
  maxServices: Infinity,
  prepare(dir, services) {
    if (services.some(berthOnly)) throw new Error('readiness, liveness and after need s6-rc, not plain s6-svscan');
    const scandir = join(dir, 'scandir');
    mkdirSync(scandir);
    // s6-svscan refuses services past its -c (500 by default): "too many services"
    const max = services.length > 500 ? ['-c', String(services.length)] : [];
    for (const s of services) {
      mkdirSync(join(scandir, s.name));
      // s6-supervise restarts every exit; `restart` needs no file
      writeFileSync(join(scandir, s.name, 'run'), `#!/bin/sh\n${s.script}\n`, { mode: 0o755 });
    }
    return { argv: [S6_SVSCAN!, ...max, scandir], env: baseEnv() };
  },
  supervisorOf(pid1, service) {
    for (const pid of childrenOf(pid1)) {
      if (commOf(pid) !== 's6-supervise') continue;
      const argv = cmdline(pid);
      if (argv[argv.length - 1] === service) return pid;
    }
    return undefined;
  },
  tree: (pid1) => [pid1, ...childrenOf(pid1).filter((pid) => commOf(pid) === 's6-supervise')],
  stopSignal: 'SIGKILL',
};

const TINI = findProgram('tini');

const tini: Peer = {
  name: 'tini',
  missing: TINI ? undefined : 'not installed (apt-get install -y tini)',
  maxServices: 1,
  prepare(_dir, services) {
    if (services.length !== 1) throw new Error('tini runs exactly one child');
    if (berthOnly(services[0])) throw new Error('tini has no readiness, liveness or dependencies');
    return { argv: [TINI!, '--', '/bin/sh', '-c', services[0].script], env: baseEnv() };
  },
  supervisorOf: (pid1) => pid1,
  tree: (pid1) => [pid1],
  stopSignal: 'SIGKILL',
};

/** `node -e 'setInterval(()=>{},1e9)'`: the floor of any Node PID 1. */
const node: Peer = {
  name: 'node',
  maxServices: 0,
  prepare: () => ({ argv: [process.execPath, '-e', 'setInterval(()=>{},1e9)'], env: baseEnv() }),
  supervisorOf: () => undefined,
  tree: (pid1) => [pid1],
  stopSignal: 'SIGKILL',
};

const SPAWNER_C = String.raw`#define _GNU_SOURCE
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
extern char **environ;
/* argv[1]: one /bin/sh script per line; each runs in a session of its own, as an init would start it */
int main(int argc, char **argv) {
  FILE *f = argc == 2 ? fopen(argv[1], "r") : NULL;
  if (!f) return 2;
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID);
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  while ((n = getline(&line, &cap, f)) > 0) {
    if (line[n - 1] == '\n') line[n - 1] = 0;
    char *args[] = {"/bin/sh", "-c", line, NULL};
    pid_t pid;
    if (posix_spawn(&pid, "/bin/sh", NULL, &attr, args, environ)) return 1;
  }
  for (;;) if (wait(NULL) < 0 && errno == ECHILD) pause();
}
`;

let spawnerBinary: string | Error | undefined;

/** Compiles the spawn floor once per bench run (a failure too), into a temp dir removed at exit. */
function spawnerPath(): string {
  if (spawnerBinary === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'berth-bench-spawner-'));
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'spawner.c'), SPAWNER_C);
    try {
      execFileSync('cc', ['-O2', '-o', join(dir, 'spawner'), join(dir, 'spawner.c')], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 });
      spawnerBinary = join(dir, 'spawner');
    } catch (err) {
      spawnerBinary = new Error(`cannot compile the spawn floor: ${String((err as { stderr?: Buffer }).stderr ?? err).split('\n')[0]}`);
    }
  }
  if (spawnerBinary instanceof Error) throw spawnerBinary;
  return spawnerBinary;
}

/** The spawn floor: posix_spawn (vfork + exec) of every service in a row, then reaping; no supervision at all. */
const spawner: Peer = {
  name: 'spawner',
  missing: findProgram('cc') ? undefined : 'no C compiler (apt-get install -y gcc)',
  maxServices: Infinity,
  prepare(dir, services) {
    if (services.some((s) => berthOnly(s) || s.script.includes('\n'))) throw new Error('the spawn floor runs one-line scripts only');
    writeFileSync(join(dir, 'scripts'), services.map((s) => `${s.script}\n`).join(''));
    return { argv: [spawnerPath(), join(dir, 'scripts')], env: baseEnv() };
  },
  supervisorOf: (pid1) => pid1,
  tree: (pid1) => [pid1],
  stopSignal: 'SIGKILL',
};

export const PEERS = { berth, s6, tini, node, spawner } as const;

function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}
