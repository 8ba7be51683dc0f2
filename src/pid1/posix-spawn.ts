// Starts a process with posix_spawn (clone with CLONE_VM|CLONE_VFORK in
// glibc): no copy of the init's page tables, so a spawn costs ~3 ms here
// against ~8 ms for child_process.spawn's fork() from a 50 MB Node. The child
// is not libuv's: its exit comes from the reaper (watchExit in reap.ts).
import { loadLibc } from './libc.js';

// glibc's posix_spawn flags and the sizes of its opaque structs on x86_64/aarch64
const POSIX_SPAWN_SETSIGDEF = 0x04;
const POSIX_SPAWN_SETSIGMASK = 0x08;
const POSIX_SPAWN_SETSID = 0x80;
const FILE_ACTIONS_SIZE = 80;
const ATTR_SIZE = 336;
const SIGSET_SIZE = 128;
const O_RDONLY = 0;
const O_CLOEXEC = 0o2000000;
const O_NONBLOCK = 0o4000;
const F_GETFL = 3;
const F_SETFL = 4;
const F_SETPIPE_SZ = 1031;

export interface NativeSpawn {
  /** absolute path of the program (PATH is not searched) */
  file: string;
  argv: string[];
  /** `KEY=value` strings */
  env: string[];
  cwd?: string;
  /** the fd the child gets as stdin; /dev/null when absent */
  input?: number;
  /** the fd the child gets as stdout, and as stderr unless `error` is given */
  output: number;
  /** the fd the child gets as stderr */
  error?: number;
}

interface Fns {
  spawn: (pid: Int32Array, path: string, fa: Buffer, attr: Buffer, argv: (string | null)[], envp: (string | null)[]) => number;
  faInit: (fa: Buffer) => number;
  faDestroy: (fa: Buffer) => number;
  faDup2: (fa: Buffer, fd: number, newfd: number) => number;
  faOpen: (fa: Buffer, fd: number, path: string, flags: number, mode: number) => number;
  faChdir: (fa: Buffer, path: string) => number;
  attrInit: (attr: Buffer) => number;
  attrDestroy: (attr: Buffer) => number;
  attrFlags: (attr: Buffer, flags: number) => number;
  attrSigmask: (attr: Buffer, set: Buffer) => number;
  attrSigdefault: (attr: Buffer, set: Buffer) => number;
  sigempty: (set: Buffer) => number;
  sigfill: (set: Buffer) => number;
  pipe2: (fds: Int32Array, flags: number) => number;
  fcntl: (fd: number, cmd: number, ...rest: unknown[]) => number;
}

let fns: Fns | undefined;
let attr: Buffer | undefined;
const pidOut = new Int32Array(1);

function load(): Fns {
  if (fns) return fns;
  const lib = loadLibc();
  fns = {
    spawn: lib.func('int posix_spawn(_Out_ int32_t *pid, const char *path, void *fa, void *attr, const char **argv, const char **envp)'),
    faInit: lib.func('int posix_spawn_file_actions_init(void *fa)'),
    faDestroy: lib.func('int posix_spawn_file_actions_destroy(void *fa)'),
    faDup2: lib.func('int posix_spawn_file_actions_adddup2(void *fa, int fd, int newfd)'),
    faOpen: lib.func('int posix_spawn_file_actions_addopen(void *fa, int fd, const char *path, int oflag, uint32_t mode)'),
    faChdir: lib.func('int posix_spawn_file_actions_addchdir_np(void *fa, const char *path)'),
    attrInit: lib.func('int posix_spawnattr_init(void *attr)'),
    attrDestroy: lib.func('int posix_spawnattr_destroy(void *attr)'),
    attrFlags: lib.func('int posix_spawnattr_setflags(void *attr, short flags)'),
    attrSigmask: lib.func('int posix_spawnattr_setsigmask(void *attr, void *set)'),
    attrSigdefault: lib.func('int posix_spawnattr_setsigdefault(void *attr, void *set)'),
    sigempty: lib.func('int sigemptyset(void *set)'),
    sigfill: lib.func('int sigfillset(void *set)'),
    pipe2: lib.func('int pipe2(_Inout_ int32_t *fds, int flags)'),
    fcntl: lib.func('int fcntl(int fd, int cmd, ...)'),
  };
  return fns;
}

/**
 * The attributes every service gets, made once: a new session (so its own
 * process group, which stopping it signals), no blocked signals, and every
 * signal at its default action — Node ignores SIGPIPE, and an ignored signal
 * would otherwise survive exec.
 */
function serviceAttr(f: Fns): Buffer {
  if (attr) return attr;
  const a = Buffer.alloc(ATTR_SIZE);
  const empty = Buffer.alloc(SIGSET_SIZE);
  const all = Buffer.alloc(SIGSET_SIZE);
  f.attrInit(a);
  f.sigempty(empty);
  f.sigfill(all);
  f.attrSigmask(a, empty);
  f.attrSigdefault(a, all);
  f.attrFlags(a, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  attr = a;
  return a;
}

/**
 * Node puts its stdout pipe in non-blocking mode; the flag lives in the open
 * file description that the child shares, and most programs treat EAGAIN as a
 * fatal write error. Like libuv for its children's stdio, clear it first.
 */
function makeBlocking(f: Fns, fd: number): void {
  const flags = f.fcntl(fd, F_GETFL);
  if (flags >= 0 && flags & O_NONBLOCK) f.fcntl(fd, F_SETFL, 'int', flags & ~O_NONBLOCK);
}

/** Spawns; returns the pid, or the errno of a failed exec (ENOENT, EACCES…), which posix_spawn reports synchronously. */
export function posixSpawn(req: NativeSpawn): { pid: number } | { errno: number } {
  const f = load();
  makeBlocking(f, req.output);
  if (req.error !== undefined) makeBlocking(f, req.error);
  const fa = Buffer.alloc(FILE_ACTIONS_SIZE);
  f.faInit(fa);
  try {
    if (req.input === undefined) f.faOpen(fa, 0, '/dev/null', O_RDONLY, 0);
    else f.faDup2(fa, req.input, 0);
    f.faDup2(fa, req.output, 1);
    f.faDup2(fa, req.error ?? req.output, 2);
    if (req.cwd) f.faChdir(fa, req.cwd);
    const err = f.spawn(pidOut, req.file, fa, serviceAttr(f), [...req.argv, null], [...req.env, null]);
    return err === 0 ? { pid: pidOut[0] } : { errno: err };
  } finally {
    f.faDestroy(fa);
  }
}

/** A pipe whose ends close on exec; spawn file actions dup2 them where a child needs them. */
export function makePipe(): { read: number; write: number } {
  const fds = new Int32Array(2);
  if (load().pipe2(fds, O_CLOEXEC) !== 0) throw new Error('pipe2 failed: too many open files?');
  return { read: fds[0], write: fds[1] };
}

/** Asks the kernel for a pipe of `bytes` capacity; false when refused (the per-user pipe quota), and the pipe keeps its size. */
export function setPipeSize(fd: number, bytes: number): boolean {
  return load().fcntl(fd, F_SETPIPE_SZ, 'int', bytes) >= 0;
}
