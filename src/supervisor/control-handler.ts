// The control channel's answers (berth status, start, stop, restart,
// signal, logs, reload) and the HTTP endpoint's view, from the supervisor's
// runners. Actions go to the runners' inputs; nothing here changes a state
// itself.
import type { ServiceEnvironment } from '../launch/launch.js';
import type { ControlHandler } from '../control/server.js';
import type { ActionOp, ReloadResult, ServiceResult } from '../control/protocol.js';
import type { InitPhase, StatusRecord } from '../control/state-dir.js';
import type { ServiceLog } from '../logs/index.js';
import type { Plan } from '../manifest/index.js';
import type { ResolvedUser } from '../launch/users.js';
import { log } from '../logs/init-log.js';
import { exitCodeOf, parseSignal } from '../unix/signals.js';
import { describeExit } from './describe.js';
import { publicPhase } from './init-phase.js';
import type { ServiceRunner } from './service.js';
import type { Supervisor } from './supervisor.js';

/** Reads the manifest again for `berth reload`: the new plan and users, or why not (one line per problem). */
/** `environment`: the base and each service's own variables, read again from their files */
export type ReloadManifest = () => Promise<{ plan: Plan; users: Map<string, ResolvedUser>; environment: ReloadedEnvironment } | { problems: string[] }>;

export interface ReloadedEnvironment {
  base: Record<string, string>;
  perService: Map<string, ServiceEnvironment>;
}

type InitView = { pid: number; phase: InitPhase };

export class ControlAnswers implements ControlHandler {
  /** the reload under way, if any: the next waits for it */
  private reloading: Promise<unknown> = Promise.resolve();
  /** runners a reload is stopping to replace: an action already under way on one must not start it again */
  private readonly replacing = new WeakSet<ServiceRunner>();

  constructor(
    private readonly sup: Supervisor,
    private readonly reloadManifest?: ReloadManifest,
  ) {}

  names(): string[] {
    return [...this.sup.runners.keys()];
  }

  status(): { init: InitView; services: StatusRecord[] } {
    return { init: this.init(), services: [...this.sup.runners.values()].map((r) => r.record()) };
  }

  /** What the HTTP endpoint answers from. */
  healthView(): { init: InitView; services: Array<StatusRecord & { essential: boolean }> } {
    return { init: this.init(), services: [...this.sup.runners.values()].map((r) => ({ ...r.record(), essential: r.svc.essential })) };
  }

  logs(name: string): ServiceLog {
    return this.sup.launcher.logs(name);
  }

  refusal(): string | undefined {
    return this.sup.shuttingDown ? 'the init is shutting down' : undefined;
  }

  async act(op: ActionOp, names: string[], signal?: string): Promise<ServiceResult[]> {
    // after a reload under way: it replaces the runners it changes, and an action on the old one would leave a process no runner owns
    await this.reloading;
    const action = (r: ServiceRunner): ServiceResult | Promise<ServiceResult> =>
      op === 'signal' ? signalOne(r, signal ?? '') : op === 'run' ? this.runOne(r) : op === 'start' ? this.startOne(r) : op === 'stop' ? stopOne(r, this.extrasOf(r)) : this.restartOne(r);
    return Promise.all(
      names.map((name) => {
        const runner = this.sup.runners.get(name);
        return runner ? action(runner) : { service: name, ok: false, state: 'down', message: 'removed by a reload' };
      }),
    );
  }

  /** A job's runs beside its own (concurrency: allow): they belong to it, and stop with it. */
  private extrasOf(r: ServiceRunner): ServiceRunner[] {
    return (this.sup.jobs?.extrasOf(r.name) ?? []) as ServiceRunner[];
  }

  private init(): InitView {
    return { pid: process.pid, phase: publicPhase(this.sup.phase) };
  }

  /** `berth run JOB` (and `berth start JOB`): a run now, under its concurrency rule, answered once it ended. */
  private async runOne(r: ServiceRunner): Promise<ServiceResult> {
    if (r.svc.type !== 'scheduled') return result(r, false, `not a scheduled job (it is a ${r.svc.type}); use berth start`);
    if (this.sup.shuttingDown) return result(r, false, 'the init is shutting down');
    if (!this.sup.jobs?.isJob(r)) return result(r, false, 'not scheduled yet: its stage has not begun');
    const ran = await this.sup.jobs.runNow(r.name);
    if (!ran.ok) return result(r, false, ran.message);
    const exit = { code: ran.code, signal: ran.signal as NodeJS.Signals | null };
    const code = exitCodeOf(exit);
    const ok = ran.signal === null && ran.code !== null && r.svc.successExitCodes.includes(ran.code);
    return { ...result(r, ok, `ran: ${describeExit(exit)}`), code };
  }

  private async startOne(r: ServiceRunner): Promise<ServiceResult> {
    if (r.svc.type === 'scheduled') return this.runOne(r);
    if (r.state === 'down' && r.want === 'up') return result(r, false, 'not started yet: its stage has not begun');
    if (r.state === 'stopping') await r.idle();
    if (this.replacing.has(r)) {
      // a reload began while this action was under way and is replacing this runner: act on its successor
      await this.reloading;
      const next = this.sup.runners.get(r.name);
      return next ? this.startOne(next) : result(r, false, 'removed by a reload');
    }
    if (this.sup.shuttingDown) return result(r, false, 'the init is shutting down');
    if (!r.start()) return result(r, true, 'already running');
    const longRun = r.svc.type === 'long-run';
    // a long-run is started once it is up; a oneshot once it has run to the end
    await r.until((x) => (longRun && x.state === 'up') || !x.active);
    if (r.state === 'up') return result(r, true, `started (pid ${r.pid})`);
    if (r.state === 'finished') return result(r, true, longRun ? 'started and already finished' : 'ran to the end');
    return result(r, false, r.judgedExit ? describeExit(r.judgedExit) : r.state);
  }

  private async restartOne(r: ServiceRunner): Promise<ServiceResult> {
    if (r.state === 'down' && r.want === 'up') return result(r, false, 'not started yet: its stage has not begun');
    await stopOne(r, this.extrasOf(r));
    return this.startOne(r);
  }

  /**
   * Re-reads the manifest and applies the difference: added services start,
   * removed ones stop, changed ones stop and start again with their new
   * definition; the others keep running untouched. A manifest that does not
   * validate changes nothing.
   */
  reload(): Promise<ReloadResult | { problems: string[] }> {
    // one at a time: two at once would both stop and start what changed, from the same old runners
    const next = this.reloading.then(() => this.reloadNow());
    this.reloading = next.catch(() => undefined);
    return next;
  }

  private async reloadNow(): Promise<ReloadResult | { problems: string[] }> {
    const sup = this.sup;
    if (sup.phase !== 'running') throw new Error(`the init is still starting (phase ${publicPhase(sup.phase)}); reload once every stage is done`);
    if (!this.reloadManifest) throw new Error('this init cannot re-read its manifest');
    const loaded = await this.reloadManifest();
    if ('problems' in loaded) return loaded;
    const next = [...loaded.plan.pre, ...loaded.plan.longRuns, ...loaded.plan.post, ...loaded.plan.jobs];
    const wanted = new Map(next.map((svc) => [svc.name, svc]));
    // a service whose files gave it other values is changed too, though its definition is the same
    const envOf = (env: ReloadedEnvironment | undefined, name: string): string => JSON.stringify([env?.base ?? sup.launcher.env, env?.perService.get(name) ?? null]);
    const before = sup.launcher.environment();
    const same = (r: ServiceRunner): boolean => JSON.stringify(r.svc) === JSON.stringify(wanted.get(r.name)) && envOf(before, r.name) === envOf(loaded.environment, r.name);
    const old = [...sup.runners.values()];
    const removed = old.filter((r) => !wanted.has(r.name));
    const changed = old.filter((r) => wanted.has(r.name) && !same(r));
    log(`reloading ${sup.opts.manifest}: ${removed.length} removed, ${changed.length} changed, ${next.length - old.length + removed.length} added`);
    for (const r of [...removed, ...changed]) this.replacing.add(r);
    await Promise.all([...removed, ...changed].flatMap((r) => [r, ...this.extrasOf(r)]).map((r) => (r.stop(), r.idle())));
    if (sup.shuttingDown) throw new Error('the init began shutting down during the reload');
    for (const r of removed) {
      sup.launcher.forget(r.name, true);
      sup.opts.stateDir?.removeRecord(r.name);
    }
    for (const r of changed) sup.launcher.forget(r.name, false);
    for (const r of [...removed, ...changed]) {
      sup.jobs?.forget(r.name);
      sup.watches.forget(r.name);
    }
    const kept = new Map(old.filter((r) => wanted.has(r.name) && same(r)).map((r) => [r.name, r]));
    sup.runners.clear();
    const fresh: ServiceRunner[] = [];
    for (const svc of next) {
      const runner = kept.get(svc.name);
      if (runner) {
        sup.runners.set(svc.name, runner);
        sup.opts.stateDir?.writeRecord(runner);
      } else fresh.push(sup.adopt(svc));
    }
    // a changed service may log another way: its kept output starts anew
    sup.launcher.renew(loaded.users, fresh.map((r) => r.svc), loaded.environment);
    await Promise.all(fresh.map((r) => sup.startAfterDependencies(r)));
    const names = (rs: ServiceRunner[]): string[] => rs.map((r) => r.name);
    const restarted = names(changed);
    return { added: names(fresh).filter((n) => !restarted.includes(n)), removed: names(removed), restarted, unchanged: kept.size };
  }
}

async function stopOne(r: ServiceRunner, extras: ServiceRunner[] = []): Promise<ServiceResult> {
  const running = r.active || extras.some((x) => x.active);
  for (const x of [r, ...extras]) x.stop();
  await Promise.all([r, ...extras].map((x) => x.idle()));
  return result(r, true, running ? 'stopped' : 'not running');
}

function signalOne(r: ServiceRunner, name: string): ServiceResult {
  const signal = parseSignal(name);
  if (!signal) return result(r, false, `unknown signal '${name}'`);
  return r.signal(signal) ? result(r, true, `sent ${signal} to pid ${r.pid}`) : result(r, false, 'not running');
}

function result(r: ServiceRunner, ok: boolean, message: string): ServiceResult {
  return { service: r.name, ok, state: r.state, message };
}
