// A service's `watch:` paths (issue #27): one call per burst of changes to
// files or directories, through inotify (fs.watch), so nothing runs while
// nothing changes.
//
// inotify follows inodes, not names: a file replaced by a rename (editors,
// cert renewers) or deleted and made again is a new inode, and a watch on the
// old one hears nothing more. So a path is watched through the directories
// it resolves through, each filtered to one entry's name: the directory of
// every symlink on the way and of the last entry; a path that is itself a
// directory is also watched whole (any change to its entries, one level).
// A Kubernetes ConfigMap key `dir/key -> ..data/key` is thus watched in `dir`
// for `key` and `..data`, and in `..data`'s current target for `key`: the
// kubelet's rename of `..data_tmp` over `..data` is heard, and the watches
// move to the new target.
//
// A path that does not exist yet resolves as far as it can: its nearest
// existing directory is watched, and every rename or deletion heard
// re-resolves the paths, so the watches go one level deeper as levels appear;
// the path appearing is a change, a directory on its way appearing is not.
// Re-resolving also follows a watched directory that is removed and made
// again (a new inode under the same name).
//
// Where inotify is refused (ENOSPC: the watch limit; EMFILE: the instance
// limit or the fd table), that path is polled every 2 s instead, for good,
// and onFallback says so once.
import { lstatSync, readdirSync, readlinkSync, statSync, watch, type FSWatcher, type Stats } from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';

const POLL_MS = 2000;
/** symlinks followed on one path before it is ELOOP, as Linux counts them */
const MAX_LINKS = 40;

export interface PathWatcherOptions {
  /** quiet time after the last change before `changed()` is called; 300 ms */
  debounceMs?: number;
  /** called once for each path that is polled instead of watched, saying why */
  onFallback?: (why: string) => void;
  /**
   * Polls every path instead of watching it: for filesystems whose changes
   * inotify does not hear (NFS and other network mounts), and for tests.
   */
  forcePoll?: boolean;
}

/** What one directory is watched for: entry names, everything, or only for renames (a missing level); and the paths that need it. */
interface Want {
  names: Set<string>;
  whole: boolean;
  paths: Set<string>;
}

export class PathWatcher {
  private readonly paths: string[];
  private readonly debounceMs: number;
  private readonly onFallback: ((why: string) => void) | undefined;
  private wants = new Map<string, Want>();
  /** the paths that resolved at the last arm(); undefined before the first */
  private found: Set<string> | undefined;
  private readonly watches = new Map<string, FSWatcher>();
  /** polled path → what it looked like at the last poll */
  private readonly polled = new Map<string, string>();
  private poller: NodeJS.Timeout | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  /** calls `changed()` once per burst of changes to any of `paths` (files or directories), `debounceMs` after the last one */
  constructor(
    paths: string[],
    private readonly changed: () => void,
    options: PathWatcherOptions = {},
  ) {
    // not path.resolve, which folds `link/..` away where the kernel follows the link first
    this.paths = [...new Set(paths.map((p) => (isAbsolute(p) ? p : `${process.cwd()}/${p}`)))];
    this.debounceMs = options.debounceMs ?? 300;
    this.onFallback = options.onFallback;
    if (options.forcePoll) for (const path of this.paths) this.poll(path, `${path}: polled every ${POLL_MS / 1000} s, as asked`);
    this.arm();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    clearInterval(this.poller);
    for (const watcher of this.watches.values()) watcher.close();
    this.watches.clear();
  }

  /** Makes the watches match where the paths resolve now. */
  private arm(): void {
    if (this.closed) return;
    const wants = new Map<string, Want>();
    const want = (dir: string, path: string): Want => {
      let w = wants.get(dir);
      if (!w) wants.set(dir, (w = { names: new Set(), whole: false, paths: new Set() }));
      w.paths.add(path);
      return w;
    };
    const found = new Set<string>();
    for (const path of this.paths) {
      if (this.polled.has(path)) continue;
      try {
        const { entries, whole } = route(path);
        for (const [i, { dir, name }] of entries.entries()) {
          const w = want(dir, path);
          // where the path stops short its last entry is not the path: that directory is watched only to re-resolve on a rename
          if (whole !== null || i < entries.length - 1) w.names.add(name);
        }
        if (typeof whole === 'string') want(whole, path).whole = true;
        if (whole !== null) found.add(path);
      } catch (err) {
        this.poll(path, `${path}: cannot resolve it (${code(err)}), polled every ${POLL_MS / 1000} s`);
      }
    }
    if (this.found && this.paths.some((p) => !this.polled.has(p) && found.has(p) !== this.found!.has(p))) this.schedule();
    this.found = found;
    this.wants = wants;
    for (const [dir, watcher] of this.watches) {
      if (wants.has(dir)) continue;
      watcher.close();
      this.watches.delete(dir);
    }
    // outer directories first (route's order), so a change below one already watched is heard
    for (const [dir, { paths }] of wants) {
      if (this.watches.has(dir)) continue;
      try {
        const watcher: FSWatcher = watch(dir, (event, name) => this.heard(dir, watcher, event, name));
        watcher.on('error', (err) => this.refused(dir, watcher, err));
        this.watches.set(dir, watcher);
      } catch (err) {
        // gone since route() saw it: resolved again without it
        if (!isMissing(err)) for (const path of paths) this.poll(path, refusal(path, dir, err));
        return this.arm();
      }
    }
  }

  private heard(dir: string, watcher: FSWatcher, event: string, name: string | null): void {
    if (this.closed || this.watches.get(dir) !== watcher) return;
    const want = this.wants.get(dir)!;
    // a rename or deletion may move where a path resolves; a write cannot
    if (event === 'rename') {
      // inotify names the directory itself when it is deleted or moved away: its watch is dead, though the name
      // may already be a new directory (maybe with the same inode number), so it is made again
      if (name === basename(dir)) {
        watcher.close();
        this.watches.delete(dir);
      }
      this.arm();
    }
    if (want.whole || name === null || want.names.has(name)) this.schedule();
  }

  private refused(dir: string, watcher: FSWatcher, err: unknown): void {
    watcher.close();
    if (this.closed || this.watches.get(dir) !== watcher) return;
    this.watches.delete(dir);
    for (const path of this.wants.get(dir)?.paths ?? []) this.poll(path, refusal(path, dir, err));
    this.arm();
  }

  private schedule(): void {
    if (this.closed) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.changed();
    }, this.debounceMs);
  }

  /**
   * Polls `path` from now on. One timer for every polled path, not
   * fs.watchFile's timer per file: a ConfigMap update changes the directory
   * and each key at once, and per-file timers would see it at several ticks,
   * seconds apart, as several bursts.
   */
  private poll(path: string, why: string): void {
    if (this.polled.has(path)) return;
    this.polled.set(path, snapshot(path));
    this.poller ??= setInterval(() => {
      let seen = false;
      for (const [p, before] of this.polled) {
        const now = snapshot(p);
        if (now === before) continue;
        this.polled.set(p, now);
        seen = true;
      }
      if (seen) this.schedule();
    }, POLL_MS);
    this.onFallback?.(why);
  }
}

/**
 * The directory entries `path` resolves through, walked as the kernel walks
 * it: every symlink on the way and the last entry, or the first missing one
 * (where the path will appear); and `whole`: the directory the path names, to
 * watch whole, undefined for a file, null where the path stops short.
 * Throws on what is neither there nor missing (EACCES, ELOOP).
 */
function route(path: string): { entries: { dir: string; name: string }[]; whole: string | undefined | null } {
  const entries: { dir: string; name: string }[] = [];
  const rest = path.split('/').filter(Boolean);
  let dir = '/'; // always a real directory: symlinks are followed as they come
  let links = 0;
  while (rest.length > 0) {
    const name = rest.shift()!;
    if (name === '.') continue;
    if (name === '..') {
      dir = dirname(dir);
      continue;
    }
    const at = join(dir, name);
    let st: Stats;
    let target: string | undefined;
    try {
      st = lstatSync(at);
      if (st.isSymbolicLink()) target = readlinkSync(at);
    } catch (err) {
      if (!isMissing(err)) throw err;
      entries.push({ dir, name });
      return { entries, whole: null };
    }
    if (target === undefined && st.isDirectory() && rest.length > 0) {
      // a plain directory on the way is not watched: renaming one is rare, and watching every level would hear all of /tmp
      dir = at;
      continue;
    }
    entries.push({ dir, name });
    // the last entry, or a file where the path goes on (stopping short until it is replaced)
    if (target === undefined) return { entries, whole: rest.length > 0 ? null : st.isDirectory() ? at : undefined };
    if (++links > MAX_LINKS) throw Object.assign(new Error(`${path}: too many symlinks`), { code: 'ELOOP' });
    if (isAbsolute(target)) dir = '/';
    rest.unshift(...target.split('/').filter(Boolean));
  }
  return { entries, whole: dir };
}

/** What polling compares: the path's stat through symlinks and, for a directory, its entries' (a file written in place changes its own stat, not its directory's). */
function snapshot(path: string): string {
  const stamp = (p: string): string => {
    try {
      const st = statSync(p);
      return `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
    } catch (err) {
      return code(err);
    }
  };
  let names: string[] = [];
  try {
    if (statSync(path).isDirectory()) names = readdirSync(path).sort();
  } catch {
    // not there or not readable: its stamp says which
  }
  return [stamp(path), ...names.map((n) => `${n} ${stamp(join(path, n))}`)].join('\n');
}

function refusal(path: string, dir: string, err: unknown): string {
  const c = code(err);
  const limit = c === 'ENOSPC' ? ', the inotify watch limit fs.inotify.max_user_watches' : c === 'EMFILE' ? ', the inotify instance limit or open files' : '';
  return `${path}: inotify refused to watch ${dir} (${c}${limit}), polled every ${POLL_MS / 1000} s`;
}

const code = (err: unknown): string => (err as NodeJS.ErrnoException).code ?? String(err);
const isMissing = (err: unknown): boolean => ['ENOENT', 'ENOTDIR'].includes(code(err));
