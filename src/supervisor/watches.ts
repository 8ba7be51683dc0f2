// A service's `watch:` paths (a config file, a mounted ConfigMap or Secret,
// a renewed certificate): one change, or one burst of changes, sends the
// service its signal or restarts it, as `berth signal` and `berth restart`
// would, through the lifecycle table like any operator's action.
import { PathWatcher } from '../config/watch-paths.js';
import { log } from '../logs/init-log.js';
import type { Service } from '../manifest/index.js';
import type { ServiceRunner } from './service.js';

export interface WatchScope {
  runner(name: string): ServiceRunner | undefined;
  /** a job's runs beside its own (they are restarted with it) */
  extrasOf(name: string): ServiceRunner[];
  shuttingDown(): boolean;
}

export class Watches {
  private readonly watchers = new Map<string, PathWatcher>();

  constructor(private readonly scope: WatchScope) {}

  /** From now on a change to what `svc` watches acts on it. */
  watch(svc: Service): void {
    const watch = svc.watch;
    if (!watch) return;
    this.forget(svc.name);
    const onFallback = (why: string): void => log(`warning: ${svc.name}: ${why}`);
    this.watchers.set(svc.name, new PathWatcher(watch.paths, () => void this.changed(svc.name, watch), { onFallback }));
  }

  /** A reload removed or changed the service: its watcher goes (a changed one is made anew). */
  forget(name: string): void {
    this.watchers.get(name)?.close();
    this.watchers.delete(name);
  }

  /** The shutdown: nothing more is acted on. */
  close(): void {
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
  }

  private async changed(name: string, watch: NonNullable<Service['watch']>): Promise<void> {
    const r = this.scope.runner(name);
    if (!r || this.scope.shuttingDown()) return;
    const what = `${watch.paths.join(', ')} changed`;
    // nothing runs (not started yet, stopped by an operator, a job between runs): its next start reads the files anyway
    if (r.pid === null) return log(`${name}: ${what}; it is not running, so nothing is done`);
    if (watch.action !== 'restart') {
      log(`${name}: ${what}: sending ${watch.action.signal}`);
      r.signal(watch.action.signal);
      return;
    }
    log(`${name}: ${what}: restarting it`);
    const all = [r, ...this.scope.extrasOf(name)];
    for (const x of all) x.stop();
    await Promise.all(all.map((x) => x.idle()));
    if (!this.scope.shuttingDown()) r.start();
  }
}
