// The driver: every 100–500 ms one action drawn from the seeded generator —
// signals to services' processes (SIGKILL, SIGSTOP then SIGCONT), berth
// restart/stop/start/reload over the control channel, scrapes of /metrics
// and /healthz, logs followers that vanish, floods. Each tick draws the same
// numbers whatever the init's state, so a seed replays the same decisions.
import { get } from 'node:http';
import { readStat } from '../../src/procfs/proc.js';
import { readRecord } from '../helpers/init.js';
import type { Followers } from './followers.js';
import { berthCli, type CliResult } from './launch.js';
import type { StopWindow } from './lines.js';
import { BASE_WRITERS, CHANGEABLE, invalidManifestOf, LONG_RUNS, manifestOf, ONESHOTS, writeManifest, type Model, type Ports } from './manifest.js';
import type { Monitor } from './monitor.js';
import { identity } from './procview.js';
import type { Programs } from './programs.js';
import type { Random } from './random.js';
import { sleep, type Soak } from './soak.js';

const WEIGHTS = {
  'kill-main': 8,
  'kill-other': 3,
  'stop-cont': 5,
  restart: 4,
  stop: 3,
  start: 5,
  reload: 1.5,
  scrape: 6,
  follow: 2.5,
  flood: 2,
};
type Kind = keyof typeof WEIGHTS;

/** A control command slower than this has hung (a restart waits for readiness; slowstop takes 1.5 s). */
const CLI_TIMEOUT_MS = 90_000;
const HTTP_TIMEOUT_MS = 15_000;
const MAX_CLI = 4;
const MAX_FOLLOWERS = 3;
const MAX_STOPPED = 2;
const MAX_EXTRAS = 3;

interface Tick {
  kind: Kind;
  a: number;
  b: number;
  c: number;
  gapMs: number;
}

export interface DriverContext {
  stateDir: string;
  manifestPath: string;
  programs: Programs;
  ports: Ports;
  httpPort: number;
  initPid: number;
  model: Model;
  monitor: Monitor;
  followers: Followers;
}

export class Driver {
  /** names whose every line is a writer's, extras included (once a writer, always: its lines may still come) */
  readonly writers = new Set(BASE_WRITERS);
  private readonly stopWindows = new Map<string, StopWindow[]>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly held = new Map<string, { pid: number; window: StopWindow; timer: NodeJS.Timeout }>();
  private cli = 0;
  /** what the reload under way does to the manifest */
  private reloading?: 'add' | 'remove' | 'change' | 'invalid';
  /** the service the reload under way removes or changes */
  private reloadTarget?: string;
  /** services with a start or restart under way, and how many */
  private readonly starting = new Map<string, number>();
  private nextExtra = 1;
  private running = true;

  constructor(
    private readonly soak: Soak,
    private readonly rng: Random,
    private readonly ctx: DriverContext,
    /** false: no start or restart of a service while a reload stops it, no such reload while one is under way, no second reload during one (see options.ts) */
    private readonly raceReload: boolean,
  ) {}

  /** When the driver held `service`'s main process stopped. */
  stops(service: string): StopWindow[] {
    return this.stopWindows.get(service) ?? [];
  }

  /** Acts until `endMs` after the soak's start (or a failure). */
  async run(endMs: number): Promise<void> {
    while (this.running && !this.soak.failed && this.soak.elapsed() < endMs) {
      const tick: Tick = { kind: this.rng.weighted(WEIGHTS), a: this.rng.next(), b: this.rng.next(), c: this.rng.next(), gapMs: this.rng.int(100, 500) };
      this.act(tick);
      await sleep(tick.gapMs);
    }
  }

  /** One flood now, for the warm-up: the baseline then includes what a flood costs. */
  floodNow(service = 'chatty'): void {
    this.signalMain(service, 'SIGUSR1');
  }

  /** Stops acting; waits for what is under way (bounded), and lets every held process go on. */
  async drain(): Promise<void> {
    this.running = false;
    for (const [id, h] of this.held) this.release(id, h);
    await Promise.race([Promise.all([...this.inFlight]), sleep(CLI_TIMEOUT_MS + 5000)]);
    await this.ctx.followers.closeAll();
  }

  private act(t: Tick): void {
    switch (t.kind) {
      case 'kill-main':
        return this.killMain(t);
      case 'kill-other':
        return this.killOther(t);
      case 'stop-cont':
        return this.stopCont(t);
      case 'restart':
      case 'stop':
        return this.control(t.kind, this.pickAt(this.longRuns(), t.a));
      case 'start':
        return this.start(t);
      case 'reload':
        return this.reload(t);
      case 'scrape':
        return this.scrape();
      case 'follow':
        return this.follow(t);
      case 'flood':
        return this.flood(t);
    }
  }

  private longRuns(): string[] {
    return [...LONG_RUNS, ...this.ctx.model.extras.map((e) => e.name)];
  }

  private pickAt<T>(items: T[], r: number): T {
    return items[Math.floor(r * items.length)];
  }

  /** The host pid and identity of `service`'s main process, if it runs. */
  private mainOf(service: string): { pid: number; id: string } | undefined {
    const nspid = readRecord(this.ctx.stateDir, service)?.pid;
    if (typeof nspid !== 'number') return undefined;
    this.ctx.monitor.scan();
    const p = this.ctx.monitor.processes.find((x) => x.nspid === nspid && x.ppid === this.ctx.initPid && x.state !== 'Z');
    return p && { pid: p.pid, id: identity(p) };
  }

  private signalMain(service: string, signal: NodeJS.Signals): boolean {
    const main = this.mainOf(service);
    if (!main) return false;
    try {
      process.kill(main.pid, signal);
      return true;
    } catch {
      return false; // gone meanwhile
    }
  }

  private killMain(t: Tick): void {
    const service = this.pickAt(this.longRuns(), t.a);
    this.soak.did(this.signalMain(service, 'SIGKILL') ? 'SIGKILL a main process' : 'SIGKILL a main process: not running', service);
  }

  /** SIGKILL to a process that is not a service's main one: an orphan, a child of a script. */
  private killOther(t: Tick): void {
    this.ctx.monitor.scan();
    const others = this.ctx.monitor.processes.filter((p) => p.ppid !== this.ctx.initPid || p.comm === 'sleep');
    const mains = new Set(this.longRuns().map((s) => readRecord(this.ctx.stateDir, s)?.pid));
    const candidates = others.filter((p) => p.state !== 'Z' && !mains.has(p.nspid));
    if (!candidates.length) return this.soak.count('SIGKILL another process: none');
    const p = this.pickAt(candidates, t.a);
    try {
      process.kill(p.pid, 'SIGKILL');
      this.soak.did('SIGKILL another process', `${p.comm} ${p.nspid}`);
    } catch {
      this.soak.count('SIGKILL another process: gone');
    }
  }

  /** SIGSTOP to a main process, SIGCONT 0.2–4 s later. */
  private stopCont(t: Tick): void {
    if (this.held.size >= MAX_STOPPED) return this.soak.count('SIGSTOP: enough held already');
    const service = this.pickAt(this.longRuns(), t.a);
    const main = this.mainOf(service);
    if (!main || this.held.has(main.id)) return this.soak.count('SIGSTOP: not running');
    const window: StopWindow = { from: Date.now(), to: undefined };
    const windows = this.stopWindows.get(service) ?? [];
    windows.push(window);
    while (windows.length && windows[0].to !== undefined && windows[0].to < Date.now() - 60_000) windows.shift();
    this.stopWindows.set(service, windows);
    try {
      process.kill(main.pid, 'SIGSTOP');
    } catch {
      window.to = Date.now();
      return this.soak.count('SIGSTOP: gone');
    }
    this.soak.did('SIGSTOP, then SIGCONT', `${service}, ${Math.round(200 + t.b * 3800)} ms`);
    const timer = setTimeout(() => this.release(main.id, this.held.get(main.id)!), 200 + t.b * 3800);
    this.held.set(main.id, { pid: main.pid, window, timer });
  }

  private release(id: string, h: { pid: number; window: StopWindow; timer: NodeJS.Timeout }): void {
    clearTimeout(h.timer);
    this.held.delete(id);
    if (readStat(h.pid)?.start === Number(id.split('@')[1])) {
      try {
        process.kill(h.pid, 'SIGCONT');
      } catch {
        // gone meanwhile
      }
    }
    h.window.to = Date.now();
  }

  private start(t: Tick): void {
    const down = this.ctx.monitor.lastStatus.filter((r) => ['stopped', 'failed', 'finished'].includes(r.state)).map((r) => r.name);
    const all = [...this.longRuns(), ...ONESHOTS];
    this.control('start', down.length && t.b < 0.8 ? this.pickAt(down, t.a) : this.pickAt(all, t.a));
  }

  /** `berth OP SERVICE`, checked: it must answer, and say why when it fails. */
  private control(op: 'start' | 'stop' | 'restart' | 'signal', service: string, signal?: string): void {
    if (this.cli >= MAX_CLI) return this.soak.count(`${op}: skipped, ${MAX_CLI} commands under way`);
    const starts = op === 'start' || op === 'restart';
    if (starts && !this.raceReload && service === this.reloadTarget) return this.soak.count(`${op}: held back, a reload is changing the service`);
    const args = op === 'signal' ? ['signal', signal!, service] : [op, service];
    // 1: the action failed (a service that failed again); 2 only for an extra that a reload removed meanwhile
    const removed = (r: CliResult): boolean => r.code === 2 && /unknown service/.test(r.stderr) && service.startsWith('extra-');
    if (starts) this.starting.set(service, (this.starting.get(service) ?? 0) + 1);
    void this.runCli(op, [...args, '--state-dir', this.ctx.stateDir], (r) => r.code === 0 || r.code === 1 || removed(r)).finally(() => {
      if (!starts) return;
      const n = this.starting.get(service)! - 1;
      if (n) this.starting.set(service, n);
      else this.starting.delete(service);
    });
  }

  private runCli(kind: string, args: string[], fine: (r: CliResult) => boolean): Promise<void> {
    this.cli++;
    const job = berthCli(args, CLI_TIMEOUT_MS).then((r) => {
      this.cli--;
      if (this.soak.failed) return;
      this.soak.time(`berth ${args[0]}`, r.ms);
      if (r.timedOut) return this.soak.fail('control commands answer', `berth ${args.join(' ')} did not answer within ${CLI_TIMEOUT_MS / 1000} s`);
      if (!fine(r)) return this.soak.fail('control commands answer', `berth ${args.join(' ')} exited ${r.code ?? r.signal} after ${r.ms} ms: ${(r.stderr || r.stdout).trim()}`);
      this.soak.did(`${kind}: exit ${r.code}`, `${args.slice(0, -2).join(' ')}, ${r.ms} ms`);
    });
    this.track(job);
    return job;
  }

  private track(job: Promise<void>): void {
    const p = job.finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  /** Rewrites the manifest (adds, removes or changes a service, or breaks it) and asks for a reload. */
  private reload(t: Tick): void {
    if (this.cli >= MAX_CLI) return this.soak.count(`reload: skipped, ${MAX_CLI} commands under way`);
    if (this.reloading) {
      // the same manifest again while the first reload stops what it changes: both see the same change
      if (!this.raceReload || this.reloading === 'invalid') return this.soak.count('reload: skipped, one under way');
      void this.runCli('reload again, while one is under way', ['reload', '--state-dir', this.ctx.stateDir], (r) => r.code === 0);
      return;
    }
    const model = this.ctx.model;
    const what = t.b < 0.1 ? 'invalid' : t.b < 0.4 && model.extras.length < MAX_EXTRAS ? 'add' : t.b < 0.65 && model.extras.length ? 'remove' : 'change';
    // the service the reload stops (removed, or changed and started anew)
    const gone = what === 'remove' ? model.extras[Math.floor(t.c * model.extras.length)].name : undefined;
    const changed = what === 'change' ? this.pickAt([...CHANGEABLE, ...model.extras.map((e) => e.name)], t.c) : undefined;
    const target = gone ?? changed;
    if (target && !this.raceReload && this.starting.has(target)) return this.soak.count('reload: held back, a start of the service it changes is under way');
    if (what === 'add') {
      const kind = t.c < 0.5 ? 'writer' : 'sleep';
      const name = `extra-${this.nextExtra++}`;
      model.extras.push({ name, kind });
      if (kind === 'writer') this.writers.add(name);
    } else if (gone) model.extras = model.extras.filter((e) => e.name !== gone);
    else if (changed) model.generation[changed] = (model.generation[changed] ?? 0) + 1;
    const valid = manifestOf(model, this.ctx.programs, this.ctx.ports);
    writeManifest(this.ctx.manifestPath, what === 'invalid' ? invalidManifestOf(valid) : valid);
    this.reloading = what;
    this.reloadTarget = target;
    const expected = (r: CliResult): boolean => (what === 'invalid' ? r.code === 1 && /nothing changed/.test(r.stderr) : r.code === 0);
    this.soak.log(`reload sent (${what}${target ? ` ${target}` : ''})`);
    void this.runCli(`reload (${what})`, ['reload', '--state-dir', this.ctx.stateDir], expected).finally(() => {
      this.reloading = undefined;
      this.reloadTarget = undefined;
      if (what === 'invalid') writeManifest(this.ctx.manifestPath, valid);
    });
  }

  private scrape(): void {
    const one = async (path: string): Promise<void> => {
      const r = await httpGet(this.ctx.httpPort, path);
      if (this.soak.failed) return;
      if ('error' in r) return this.soak.fail('the HTTP endpoint answers', `GET ${path}: ${r.error}`);
      const ok = path === '/metrics' ? r.status === 200 && r.body.includes('berth_init_memory_bytes') : r.status === 200 || r.status === 503;
      if (!ok) return this.soak.fail('the HTTP endpoint answers', `GET ${path}: HTTP ${r.status}: ${r.body.slice(0, 200)}`);
      this.soak.count(`GET ${path}: ${r.status}`);
    };
    this.track(Promise.all([one('/metrics'), one('/healthz')]).then(() => undefined));
  }

  private follow(t: Tick): void {
    if (this.ctx.followers.active >= MAX_FOLLOWERS) return this.soak.count('follow: skipped, enough followers');
    const service = this.pickAt(BASE_WRITERS, t.a);
    const holdMs = 500 + t.c * 5500;
    if (t.b < 0.6) {
      this.soak.did('berth logs -f, then SIGKILL', service);
      this.ctx.followers.cli(service, holdMs);
    } else if (t.b < 0.85 || service === 'crashy') {
      this.soak.did('raw follower, then vanish', service);
      this.ctx.followers.raw(service, holdMs, false, () => false);
    } else {
      this.soak.did('raw follower that never reads, during a flood', service);
      this.ctx.followers.raw(service, 2000 + holdMs, true, () => this.signalMain(service, 'SIGUSR1'));
    }
  }

  private flood(t: Tick): void {
    const service = this.pickAt(['chatty', 'chatty-json'], t.a);
    if (t.b < 0.5) this.control('signal', service, 'USR1');
    else this.soak.did(this.signalMain(service, 'SIGUSR1') ? 'flood (SIGUSR1)' : 'flood: not running', service);
  }
}

type HttpAnswer = { status: number; body: string } | { error: string };

function httpGet(port: number, path: string): Promise<HttpAnswer> {
  return new Promise((resolve) => {
    const req = get({ host: '127.0.0.1', port, path, agent: false, timeout: HTTP_TIMEOUT_MS }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', (err) => resolve({ error: err.message }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${HTTP_TIMEOUT_MS / 1000} s`)));
    req.on('error', (err) => resolve({ error: err.message }));
  });
}
