// Berth's Node-API addon: the PID-1 calls Node has no API for, done where a
// trip through JS would cost too much or leave a window open.
//
// spawn(): starts a service like posix_spawn does (clone with CLONE_VM |
// CLONE_VFORK: no copy of the init's page tables), but also sets what
// posix_spawn cannot: the user switch and a parent-death signal armed after
// it (a credential change clears PR_SET_PDEATHSIG), so no extra exec of
// setpriv is needed per service. Nor is the init's fd table copied (see
// struct slots).
//
// Reaping: waitpid()/waitid() for pids Node did not spawn, and a loop that
// reaps a pile of orphans in one call, telling JS only of the children
// spawn() started: an orphan's exit status interests no one.
//
// reserveFds(): grows the fd table once, off the main thread, before a start
// burst needs it (see grow_fd_table). cloexecInherited(): what the init
// inherited stays with it, no child gets it.
//
// watchReadable(): the log relay's pipes, watched by libuv's poll handle and
// read with read(2): a net.Socket per pipe cost ~85 us and ~5 kB per service.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <node_api.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

// Headers older than Linux 5.9 lack close_range; the number is the same on
// every architecture, and a kernel without it says ENOSYS (see slots_open).
#if __has_include(<linux/close_range.h>)
#include <linux/close_range.h>
#endif
#ifndef CLOSE_RANGE_UNSHARE
#define CLOSE_RANGE_UNSHARE (1U << 1)
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif

#define CHILD_STACK_SIZE (256 * 1024)
#define MAX_GROUPS 256

// A child cloned with its own copy of the init's fd table pays for every
// descriptor twice: the copy (in the parent, under vfork) and the close of
// each close-on-exec one at exec. With 1,000 services that is 2,000 relay
// pipes, ~0.2 ms of CPU per spawn. So the child shares the table
// (CLONE_FILES) and its first act is close_range(end, INT_MAX,
// CLOSE_RANGE_UNSHARE): a private table holding only the descriptors below
// `end` (INT_MAX, not ~0: gVisor refuses a last fd above it). What the child needs is put there first, in four low descriptors
// the init keeps for it; each holds /dev/null between spawns, so no pipe end
// outlives its spawn here (the relay waits for EOF on those).
enum { SLOT_INPUT, SLOT_OUTPUT, SLOT_ERROR, SLOT_EXTRA, SLOT_COUNT };
static struct {
  int fd[SLOT_COUNT];
  int dev_null;
  unsigned end;     // one past the highest slot
  bool unshare;     // close_range(CLOSE_RANGE_UNSHARE) is there (Linux >= 5.9, not refused by seccomp)
  bool ready;
} slots;

/** Opens the slots at the first spawn; -1 with errno (EMFILE) if they cannot all be had, then none are kept. */
static int slots_open(void) {
  if (slots.ready) return 0;
  int opened = 0;
  if ((slots.dev_null = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) return -1;
  // the lowest free descriptors: Node's own are few at this point
  while (opened < SLOT_COUNT && (slots.fd[opened] = fcntl(slots.dev_null, F_DUPFD_CLOEXEC, 3)) >= 0) opened++;
  if (opened < SLOT_COUNT) {
    int saved = errno;
    while (opened > 0) close(slots.fd[--opened]);
    close(slots.dev_null);
    errno = saved;
    return -1;
  }
  for (int i = 0; i < SLOT_COUNT; i++) {
    if ((unsigned)slots.fd[i] >= slots.end) slots.end = (unsigned)slots.fd[i] + 1;
  }
  // fd > max_fd: EINVAL once the flags are known, before anything is done; a
  // kernel or seccomp filter without close_range says ENOSYS or EPERM, and
  // the child then gets a full copy of the table, as fork gives
  slots.unshare = syscall(SYS_close_range, 1, 0, CLOSE_RANGE_UNSHARE) < 0 && errno == EINVAL;
  slots.ready = true;
  return 0;
}

struct spawn_request {
  const char *file;
  char **argv;
  char **envp;
  const char *cwd; // NULL: stay in the init's cwd
  int input;       // -1: /dev/null
  int output;
  int error;       // -1: the same as output
  int extra_source; // -1: none; else our fd the child gets as extra_target (a readiness pipe)
  int extra_target;
  int uid;         // -1: keep the init's credentials
  int gid;
  int ngroups;
  gid_t groups[MAX_GROUPS];
  int death_signal; // 0: none
  pid_t parent;
  sigset_t mask;    // the parent's mask, restored by no one in the child: services start with none blocked
  volatile int err; // set by the child before it _exits; shared memory (CLONE_VM)
};

// Puts `fd` at `target`; dup2 onto itself would keep FD_CLOEXEC, so clear it then.
static int move_fd(int fd, int target) {
  if (fd == target) {
    int flags = fcntl(fd, F_GETFD);
    return flags < 0 ? -1 : fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC);
  }
  return dup2(fd, target) < 0 ? -1 : 0;
}

// Runs in the child, on its own stack, in the parent's memory, until execve.
// Only async-signal-safe calls, and raw syscalls for credentials: glibc's
// setresuid() would broadcast to the parent's threads (it shares their list).
static int child_main(void *arg) {
  struct spawn_request *r = arg;
  // Until this returns the fd table is the init's: nothing may touch it. A
  // sandbox that passed the probe but refuses the call still gets a copy.
  if (slots.unshare && syscall(SYS_close_range, slots.end, INT_MAX, CLOSE_RANGE_UNSHARE) < 0 && syscall(SYS_unshare, CLONE_FILES) < 0) goto fail;
  // Node's handlers live in memory we share: none may run here. Ignored
  // signals would survive exec (Node ignores SIGPIPE), so every signal goes
  // back to its default before the mask is cleared.
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; sig++) {
    if (sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &dfl, NULL);
  }
  if (setsid() < 0) goto fail;
  // the slots are >= 3, so no move below clobbers another's source
  if (dup2(slots.fd[SLOT_INPUT], 0) < 0 || dup2(slots.fd[SLOT_OUTPUT], 1) < 0) goto fail;
  if (dup2(slots.fd[r->error >= 0 ? SLOT_ERROR : SLOT_OUTPUT], 2) < 0) goto fail;
  if (r->extra_source >= 0 && move_fd(slots.fd[SLOT_EXTRA], r->extra_target) < 0) goto fail;
  if (r->cwd && chdir(r->cwd) < 0) goto fail;
  if (r->uid >= 0) {
    if (syscall(SYS_setgroups, r->ngroups, r->groups) < 0) goto fail;
    if (syscall(SYS_setresgid, r->gid, r->gid, r->gid) < 0) goto fail;
    if (syscall(SYS_setresuid, r->uid, r->uid, r->uid) < 0) goto fail;
  }
  if (r->death_signal) {
    // armed after the user switch, which clears it
    if (prctl(PR_SET_PDEATHSIG, r->death_signal) < 0) goto fail;
    // the init died before the signal was armed: die as it would have made us
    if (getppid() != r->parent) raise(r->death_signal);
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  execve(r->file, r->argv, r->envp);
fail:
  r->err = errno ? errno : EINVAL;
  _exit(127);
}

static void *child_stack;

static char **string_array(napi_env env, napi_value array) {
  uint32_t n = 0;
  napi_get_array_length(env, array, &n);
  char **out = calloc(n + 1, sizeof(char *));
  if (!out) return NULL;
  for (uint32_t i = 0; i < n; i++) {
    napi_value item;
    size_t len = 0;
    napi_get_element(env, array, i, &item);
    if (napi_get_value_string_utf8(env, item, NULL, 0, &len) != napi_ok) goto bad;
    out[i] = malloc(len + 1);
    if (!out[i]) goto bad;
    napi_get_value_string_utf8(env, item, out[i], len + 1, &len);
  }
  return out;
bad:
  for (uint32_t i = 0; i < n; i++) free(out[i]);
  free(out);
  return NULL;
}

static void free_array(char **a) {
  if (!a) return;
  for (char **p = a; *p; p++) free(*p);
  free(a);
}

static char *string_arg(napi_env env, napi_value v) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) return NULL;
  char *s = malloc(len + 1);
  if (s) napi_get_value_string_utf8(env, v, s, len + 1, &len);
  return s;
}

static int int_arg(napi_env env, napi_value v) {
  int32_t n = -1;
  napi_get_value_int32(env, v, &n);
  return n;
}

static napi_value number(napi_env env, double n) {
  napi_value v;
  napi_create_double(env, n, &v);
  return v;
}

// The children spawn() started that nobody has reaped yet, whose exits JS
// watches: an open-addressing set (linear probing, 0 = empty slot).
static pid_t *spawned;
static size_t spawned_cap, spawned_count;

static size_t home_slot(pid_t pid, size_t mask) { return ((uint32_t)pid * 2654435761u) & mask; }

/** Room for one more pid, made before a spawn so that recording its child cannot fail. */
static int spawned_reserve(void) {
  if ((spawned_count + 1) * 2 <= spawned_cap) return 0;
  size_t cap = spawned_cap ? spawned_cap * 2 : 64;
  pid_t *table = calloc(cap, sizeof *table);
  if (!table) return -1;
  for (size_t i = 0; i < spawned_cap; i++) {
    if (!spawned[i]) continue;
    size_t j = home_slot(spawned[i], cap - 1);
    while (table[j]) j = (j + 1) & (cap - 1);
    table[j] = spawned[i];
  }
  free(spawned);
  spawned = table;
  spawned_cap = cap;
  return 0;
}

static void spawned_add(pid_t pid) {
  size_t mask = spawned_cap - 1, i = home_slot(pid, mask);
  while (spawned[i]) i = (i + 1) & mask;
  spawned[i] = pid;
  spawned_count++;
}

/** Forgets `pid`; false if it was not there (an orphan). */
static int spawned_remove(pid_t pid) {
  if (!spawned_count) return 0;
  size_t mask = spawned_cap - 1, i = home_slot(pid, mask);
  while (spawned[i] != pid) {
    if (!spawned[i]) return 0;
    i = (i + 1) & mask;
  }
  // Backward shift: each later entry of the probe run that may live at the
  // hole moves there, so no lookup stops early at an empty slot.
  for (size_t j = i;;) {
    j = (j + 1) & mask;
    if (!spawned[j]) break;
    size_t home = home_slot(spawned[j], mask);
    int stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
    if (stays) continue;
    spawned[i] = spawned[j];
    i = j;
  }
  spawned[i] = 0;
  spawned_count--;
  return 1;
}

/** Clones and waits for the exec (CLONE_VFORK); the child's pid, or -errno if it never ran the program (then already reaped). */
static int clone_child(struct spawn_request *r) {
  // Like libuv for its children's stdio: Node's stdout is non-blocking, a flag
  // of the shared file description, and most programs die on EAGAIN.
  int fl = fcntl(r->output, F_GETFL);
  if (fl >= 0 && (fl & O_NONBLOCK)) fcntl(r->output, F_SETFL, fl & ~O_NONBLOCK);
  if (r->error >= 0 && (fl = fcntl(r->error, F_GETFL)) >= 0 && (fl & O_NONBLOCK)) fcntl(r->error, F_SETFL, fl & ~O_NONBLOCK);
  // No signal may reach the child before it has reset the handlers it shares.
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &r->mask);
  pid_t pid = clone(child_main, (char *)child_stack + CHILD_STACK_SIZE, CLONE_VM | CLONE_VFORK | (slots.unshare ? CLONE_FILES : 0) | SIGCHLD, r);
  int saved = errno;
  pthread_sigmask(SIG_SETMASK, &r->mask, NULL);
  if (pid < 0) return -saved;
  if (r->err) {
    // the child never ran the program: it is ours to reap, now
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
    return -r->err;
  }
  spawned_add(pid);
  return pid;
}

/**
 * spawn(file, argv, env, cwd | null, input (-1: /dev/null), output, uid (-1:
 * keep), gid, groups, deathSignal (0: none), extraSource (-1: none),
 * extraTarget, error (-1: the output)) → pid, or -errno when the child
 * could not exec (reported synchronously, the child already reaped).
 */
static napi_value spawn(napi_env env, napi_callback_info info) {
  size_t argc = 13;
  napi_value args[13];
  napi_get_cb_info(env, info, &argc, args, NULL, NULL);
  if (argc < 13) {
    napi_throw_type_error(env, NULL, "spawn: 13 arguments expected");
    return NULL;
  }
  if (!child_stack) {
    child_stack = mmap(NULL, CHILD_STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (child_stack == MAP_FAILED) {
      child_stack = NULL;
      return number(env, -ENOMEM);
    }
  }
  static struct spawn_request r;
  memset(&r, 0, sizeof r);
  napi_valuetype cwd_type;
  napi_typeof(env, args[3], &cwd_type);
  char *file = string_arg(env, args[0]);
  char *cwd = cwd_type == napi_string ? string_arg(env, args[3]) : NULL;
  char **argv = string_array(env, args[1]);
  char **envp = string_array(env, args[2]);
  int result = -ENOMEM;
  if (!file || !argv || !envp || (cwd_type == napi_string && !cwd) || spawned_reserve() < 0) goto out;
  r.file = file;
  r.argv = argv;
  r.envp = envp;
  r.cwd = cwd;
  r.input = int_arg(env, args[4]);
  r.output = int_arg(env, args[5]);
  r.uid = int_arg(env, args[6]);
  r.gid = int_arg(env, args[7]);
  uint32_t ngroups = 0;
  napi_get_array_length(env, args[8], &ngroups);
  if (ngroups > MAX_GROUPS) {
    result = -EINVAL;
    goto out;
  }
  for (uint32_t i = 0; i < ngroups; i++) {
    napi_value g;
    napi_get_element(env, args[8], i, &g);
    r.groups[i] = (gid_t)int_arg(env, g);
  }
  r.ngroups = (int)ngroups;
  r.death_signal = int_arg(env, args[9]);
  r.extra_source = int_arg(env, args[10]);
  r.extra_target = int_arg(env, args[11]);
  r.error = int_arg(env, args[12]);
  r.parent = getpid();
  if (r.output < 0 || (r.extra_source >= 0 && r.extra_target < 3)) {
    result = r.output < 0 ? -EBADF : -EINVAL;
    goto out;
  }
  if (slots_open() < 0) {
    result = -errno;
    goto out;
  }
  // A source that is not an open fd fails here (EBADF), not in the child.
  const int sources[SLOT_COUNT] = {r.input, r.output, r.error, r.extra_source};
  int filled = 0;
  result = 0;
  for (int i = 0; i < SLOT_COUNT && result == 0; i++) {
    if (sources[i] < 0) continue;
    if (dup3(sources[i], slots.fd[i], O_CLOEXEC) < 0) result = -errno;
    else filled |= 1 << i;
  }
  if (result == 0) result = clone_child(&r);
  for (int i = 0; i < SLOT_COUNT; i++) {
    if (filled & (1 << i)) dup3(slots.dev_null, slots.fd[i], O_CLOEXEC);
  }
out:
  free(file);
  free(cwd);
  free_array(argv);
  free_array(envp);
  return number(env, result);
}

/**
 * cloexecInherited() → 0, or -errno: every fd from 3 up becomes
 * close-on-exec. Node's and libuv's own all are; what is not was left to the
 * init by its parent. Children then get their stdio and readiness pipe and
 * nothing else, whichever way they are started (the addon, libuv for the
 * main command, node-pty). One call on Linux >= 5.11, else a walk of
 * /proc/self/fd.
 */
static napi_value cloexec_inherited(napi_env env, napi_callback_info info) {
  (void)info;
  if (syscall(SYS_close_range, 3, INT_MAX, CLOSE_RANGE_CLOEXEC) == 0) return number(env, 0);
  DIR *dir = opendir("/proc/self/fd");
  if (!dir) return number(env, -errno);
  int listing = dirfd(dir);
  struct dirent *entry;
  // readdir says an error only through errno
  for (errno = 0; (entry = readdir(dir)); errno = 0) {
    char *end;
    long fd = strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end || fd < 3 || fd == listing) continue;
    int flags = fcntl((int)fd, F_GETFD);
    if (flags >= 0 && !(flags & FD_CLOEXEC)) fcntl((int)fd, F_SETFD, flags | FD_CLOEXEC);
  }
  int err = errno;
  closedir(dir);
  return number(env, -err);
}

/**
 * signalIfStarted(pid, startTicks, signal) → 0, or -errno. Signals `pid` only
 * if it is still the process that started at `startTicks` (field 22 of
 * /proc/PID/stat): through a pidfd taken before the check, so a pid reused
 * between the check and the signal is never hit. -ESRCH: gone or another process.
 */
static napi_value signal_if_started(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value args[3];
  napi_get_cb_info(env, info, &argc, args, NULL, NULL);
  int pid = int_arg(env, args[0]);
  int64_t start = -1;
  napi_get_value_int64(env, args[1], &start);
  int sig = int_arg(env, args[2]);
  if (pid <= 0) return number(env, -EINVAL);
  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (pidfd < 0) return number(env, -errno);
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  int result = -ESRCH;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n > 0) {
      buf[n] = 0;
      // fields after the command name, which may hold spaces and ')': field 3 is the first
      char *p = strrchr(buf, ')');
      int field = 2;
      while (p && *p && field < 22) {
        if (*p == ' ') field++;
        p++;
      }
      if (p && field == 22 && strtoll(p, NULL, 10) == start) {
        result = syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0 ? -errno : 0;
      }
    }
  }
  close(pidfd);
  return number(env, result);
}

/** pipe(nonBlocking?) → [readFd, writeFd], both close-on-exec (spawn dup2s them where a child needs them); -errno on failure. */
static napi_value make_pipe(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value args[1];
  bool non_blocking = false;
  napi_get_cb_info(env, info, &argc, args, NULL, NULL);
  if (argc >= 1) napi_get_value_bool(env, args[0], &non_blocking);
  int fds[2];
  if (pipe2(fds, O_CLOEXEC | (non_blocking ? O_NONBLOCK : 0)) < 0) return number(env, -errno);
  napi_value out;
  napi_create_array_with_length(env, 2, &out);
  napi_set_element(env, out, 0, number(env, fds[0]));
  napi_set_element(env, out, 1, number(env, fds[1]));
  return out;
}

// The kernel doubles a full fd table, and while the table is shared (Node's
// threads share it) each growth waits for an RCU grace period: 5-20 ms here,
// four or five times over on the way to 1,000 services. One growth to the
// size the services will need, on a thread of its own, costs the main thread
// nothing: its own allocations go on in the old table meanwhile.
static void *grow_fd_table(void *arg) {
  int highest = (int)(intptr_t)arg;
  int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NULL;
  int high = fcntl(fd, F_DUPFD_CLOEXEC, highest);
  if (high >= 0) close(high);
  close(fd);
  return NULL;
}

/** reserveFds(count) → 0, or -errno: starts growing the fd table to hold `count` descriptors (capped by RLIMIT_NOFILE), without waiting. */
static napi_value reserve_fds(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value args[1];
  napi_get_cb_info(env, info, &argc, args, NULL, NULL);
  int count = argc >= 1 ? int_arg(env, args[0]) : 0;
  struct rlimit lim;
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY && (rlim_t)count > lim.rlim_cur) count = (int)lim.rlim_cur;
  if (count < 1) return number(env, 0);
  pthread_attr_t attr;
  pthread_t thread;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, PTHREAD_STACK_MIN > 65536 ? PTHREAD_STACK_MIN : 65536);
  int err = pthread_create(&thread, &attr, grow_fd_table, (void *)(intptr_t)(count - 1));
  pthread_attr_destroy(&attr);
  return number(env, -err);
}

/** setPipeSize(fd, bytes) → 0, or -errno (EPERM past the per-user pipe quota): the pipe then keeps its size. */
static napi_value set_pipe_size(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value args[2];
  napi_get_cb_info(env, info, &argc, args, NULL, NULL);
  return number(env, fcntl(int_arg(env, args[0]), F_SETPIPE_SZ, int_arg(env, args[1])) < 0 ? -errno : 0);
}

/** Whole lines from *ps, each after the prefix, while they fit before `limit` (a memchr and two memcpy per line); *ps and *po end after the last line copied. */
static void prefix_lines(const char **ps, const char *end, char **po, const char *limit, const char *pre, size_t pn) {
  const char *s = *ps;
  char *o = *po;
  while (s < end) {
    const char *nl = memchr(s, '\n', (size_t)(end - s));
    size_t len = nl ? (size_t)(nl - s + 1) : (size_t)(end - s);
    if ((size_t)(limit - o) < pn + len) break;
    memcpy(o, pre, pn);
    memcpy(o + pn, s, len);
    o += pn + len;
    s += len;
  }
  *ps = s;
  *po = o;
}

#if defined(__x86_64__)
#include <immintrin.h>

/** The longest prefix prefix_blocks takes: one 32-byte store. */
#define PREFIX_BLOCK 32

static bool has_avx2(void) {
  static int known = -1;
  if (known < 0) known = __builtin_cpu_supports("avx2");
  return known;
}

/**
 * prefix_lines 32 bytes at a time, for lines of ~100 bytes 1.5x as fast:
 * each block is stored as loaded, and its newlines come from the same load,
 * each followed by the prefix. A store may run up to 32 bytes past what it
 * means (the next store writes over them), so it stops while there is still
 * room for a block of 32 lines, and with 64 bytes of input left (a load
 * after a newline reaches into the next block). It hands back the start of
 * the line it was in: prefix_lines goes on from there, with exact bounds.
 */
__attribute__((target("avx2"))) static void prefix_blocks(const char **ps, const char *end, char **po, const char *limit, const char *pre, size_t pn) {
  char padded[PREFIX_BLOCK] = {0};
  if (pn) memcpy(padded, pre, pn);
  const __m256i prefix = _mm256_loadu_si256((const __m256i *)padded), newline = _mm256_set1_epi8('\n');
  const size_t block_room = PREFIX_BLOCK * (pn + 1) + PREFIX_BLOCK;
  const char *s = *ps, *line = s;
  char *o = *po, *line_out = o;
  if (end - s < 2 * PREFIX_BLOCK || (size_t)(limit - o) < block_room) return;
  _mm256_storeu_si256((__m256i *)o, prefix);
  o += pn;
  while (end - s >= 2 * PREFIX_BLOCK && (size_t)(limit - o) >= block_room) {
    __m256i block = _mm256_loadu_si256((const __m256i *)s);
    unsigned newlines = (unsigned)_mm256_movemask_epi8(_mm256_cmpeq_epi8(block, newline));
    unsigned done = 0;
    while (newlines) {
      unsigned upto = (unsigned)__builtin_ctz(newlines) + 1;
      _mm256_storeu_si256((__m256i *)o, _mm256_loadu_si256((const __m256i *)(s + done)));
      o += upto - done;
      done = upto;
      line = s + upto;
      line_out = o;
      _mm256_storeu_si256((__m256i *)o, prefix);
      o += pn;
      newlines &= newlines - 1;
    }
    if (done < PREFIX_BLOCK) {
      _mm256_storeu_si256((__m256i *)o, done ? _mm256_loadu_si256((const __m256i *)(s + done)) : block);
      o += PREFIX_BLOCK - done;
    }
    s += PREFIX_BLOCK;
  }
  *ps = line;
  *po = line_out;
}
#endif

/**
 * prefixInto(lines, prefix, out) → [read, written]: copies the lines of
 * `lines` (a last one without a newline counts), each after `prefix`, into
 * `out` while whole ones fit; the first `read` bytes of `lines` became the
 * first `written` bytes of `out`. The log relay's prefix format, into a
 * buffer the caller reuses (per line in JS this ran at 0.5 GB/s under
 * --no-opt). prefix_blocks does most of the bytes where it can, and
 * prefix_lines the rest.
 */
static napi_value prefix_into(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value args[3];
  napi_get_cb_info(env, info, &argc, args, NULL, NULL);
  void *src = NULL, *pre = NULL, *dst = NULL;
  size_t n = 0, pn = 0, room = 0;
  if (argc < 3 || napi_get_buffer_info(env, args[0], &src, &n) != napi_ok || napi_get_buffer_info(env, args[1], &pre, &pn) != napi_ok ||
      napi_get_buffer_info(env, args[2], &dst, &room) != napi_ok) {
    napi_throw_type_error(env, NULL, "prefixInto: three Buffers expected");
    return NULL;
  }
  const char *s = src, *end = s + n;
  char *o = dst;
#if defined(__x86_64__)
  if (pn <= PREFIX_BLOCK && has_avx2()) prefix_blocks(&s, end, &o, (char *)dst + room, pre, pn);
#endif
  prefix_lines(&s, end, &o, (char *)dst + room, pre, pn);
  napi_value out;
  napi_create_array_with_length(env, 2, &out);
  napi_set_element(env, out, 0, number(env, (double)(s - (const char *)src)));
  napi_set_element(env, out, 1, number(env, (double)(o - (char *)dst)));
  return out;
}

// One watched fd: libuv polls it, and its JS callback runs each time it is readable.
struct watcher {
  uv_poll_t poll;
  napi_env env;
  napi_ref callback;
};

// One async context for every watcher's callback: what each call needs is
// the nextTick and microtask run after it, not a resource of its own.
static napi_async_context watch_context;

static void on_readable(uv_poll_t *poll, int status, int events) {
  (void)status;
  (void)events;
  struct watcher *w = poll->data;
  napi_handle_scope scope;
  napi_open_handle_scope(w->env, &scope);
  napi_value fn, recv, ignored;
  napi_get_reference_value(w->env, w->callback, &fn);
  napi_get_global(w->env, &recv);
  if (napi_make_callback(w->env, watch_context, recv, fn, 0, NULL, &ignored) == napi_pending_exception) {
    napi_value err;
    napi_get_and_clear_last_exception(w->env, &err);
    napi_fatal_exception(w->env, err);
  }
  napi_close_handle_scope(w->env, scope);
}

static void on_closed(uv_handle_t *handle) {
  struct watcher *w = handle->data;
  napi_delete_reference(w->env, w->callback);
  free(w);
}

/** The watcher a call's first argument holds (its other `argc` arguments in `args`), or NULL with an exception pending. */
static struct watcher *watcher_call(napi_env env, napi_callback_info info, size_t argc, napi_value *args) {
  napi_get_cb_info(env, info, &argc, args, NULL, NULL);
  void *w = NULL;
  if (napi_get_value_external(env, args[0], &w) != napi_ok || !w) napi_throw_type_error(env, NULL, "a watcher expected");
  return w;
}

/**
 * watchReadable(fd, callback) → watcher: makes `fd` non-blocking and calls
 * `callback` whenever it is readable (or at EOF) until pauseWatch or
 * closeWatch. The fd stays the caller's: closeWatch first, then close it.
 */
static napi_value watch_readable(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value args[2];
  napi_get_cb_info(env, info, &argc, args, NULL, NULL);
  int fd = int_arg(env, args[0]);
  uv_loop_t *loop = NULL;
  if (!watch_context) {
    napi_value resource, name;
    napi_create_object(env, &resource);
    napi_create_string_utf8(env, "berth:pipe", NAPI_AUTO_LENGTH, &name);
    napi_async_init(env, resource, name, &watch_context);
  }
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 || napi_get_uv_event_loop(env, &loop) != napi_ok) {
    napi_throw_error(env, NULL, "watchReadable: cannot watch this fd");
    return NULL;
  }
  struct watcher *w = calloc(1, sizeof *w);
  if (!w || uv_poll_init(loop, &w->poll, fd) != 0) {
    free(w);
    napi_throw_error(env, NULL, "watchReadable: cannot watch this fd");
    return NULL;
  }
  w->env = env;
  w->poll.data = w;
  napi_create_reference(env, args[1], 1, &w->callback);
  uv_poll_start(&w->poll, UV_READABLE, on_readable);
  napi_value out;
  napi_create_external(env, w, NULL, NULL, &out);
  return out;
}

/** pauseWatch(watcher, paused): stops or resumes the calls (back-pressure). */
static napi_value pause_watch(napi_env env, napi_callback_info info) {
  napi_value args[2];
  struct watcher *w = watcher_call(env, info, 2, args);
  bool paused = false;
  napi_get_value_bool(env, args[1], &paused);
  if (w && paused) uv_poll_stop(&w->poll);
  else if (w) uv_poll_start(&w->poll, UV_READABLE, on_readable);
  return NULL;
}

/** closeWatch(watcher): no more calls; the watcher is freed on the loop's next turn. Once only. */
static napi_value close_watch(napi_env env, napi_callback_info info) {
  napi_value args[1];
  struct watcher *w = watcher_call(env, info, 1, args);
  if (w) {
    uv_poll_stop(&w->poll);
    uv_close((uv_handle_t *)&w->poll, on_closed);
  }
  return NULL;
}

/** A call's `argc` arguments into `args`, the last a Buffer (its bytes in *data and *length); false, with a TypeError saying `expected` pending, if not. */
static bool buffer_call(napi_env env, napi_callback_info info, size_t argc, napi_value *args, void **data, size_t *length, const char *expected) {
  size_t got = argc;
  napi_get_cb_info(env, info, &got, args, NULL, NULL);
  if (got >= argc && napi_get_buffer_info(env, args[argc - 1], data, length) == napi_ok) return true;
  napi_throw_type_error(env, NULL, expected);
  return false;
}

/** readInto(fd, buffer) → bytes read (0: EOF), or -errno (EAGAIN: nothing now). */
static napi_value read_into(napi_env env, napi_callback_info info) {
  napi_value args[2];
  void *data = NULL;
  size_t length = 0;
  if (!buffer_call(env, info, 2, args, &data, &length, "readInto: a Buffer expected")) return NULL;
  ssize_t n;
  while ((n = read(int_arg(env, args[0]), data, length)) < 0 && errno == EINTR) {}
  return number(env, n < 0 ? -errno : (double)n);
}

/**
 * readVia(fd, viaWrite, viaRead, buffer) → bytes read (0: EOF), or -errno
 * (EAGAIN: nothing now). readInto for a fast writer's pipe: its pages move
 * first (splice, no copy) to `via`, an empty pipe of the init's own, and are
 * copied from there. A pipe's reader and writer take turns on its mutex for
 * every copy, so reading the service's pipe directly held the service's
 * writes for each of the init's copies; through `via` the two copies run at
 * once, on two cores.
 */
static napi_value read_via(napi_env env, napi_callback_info info) {
  napi_value args[4];
  void *data = NULL;
  size_t length = 0;
  if (!buffer_call(env, info, 4, args, &data, &length, "readVia: three fds and a Buffer expected")) return NULL;
  int fd = int_arg(env, args[0]), via_write = int_arg(env, args[1]), via_read = int_arg(env, args[2]);
  ssize_t moved;
  while ((moved = splice(fd, NULL, via_write, NULL, length, SPLICE_F_NONBLOCK | SPLICE_F_MOVE)) < 0 && errno == EINTR) {}
  if (moved <= 0) return number(env, moved < 0 ? -errno : 0);
  // `via` was empty and `moved` fits the buffer: all of it is there to read
  size_t got = 0;
  while (got < (size_t)moved) {
    ssize_t n = read(via_read, (char *)data + got, (size_t)moved - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return number(env, n < 0 ? -errno : -EIO);
    got += (size_t)n;
  }
  return number(env, (double)got);
}

void berth_low_memory_notification(void); // v8-memory.cc

/** collectStartupGarbage(): one memory-reducing full GC, which V8's memory reducer (off in PID 1) would run in idle time ~8 s later. */
static napi_value collect_startup_garbage(napi_env env, napi_callback_info info) {
  (void)env;
  (void)info;
  berth_low_memory_notification();
  return NULL;
}

static int32_t *int32_array(napi_env env, napi_value v, size_t *length) {
  napi_typedarray_type type;
  void *data = NULL;
  if (napi_get_typedarray_info(env, v, &type, length, &data, NULL, NULL) != napi_ok || type != napi_int32_array) {
    napi_throw_type_error(env, NULL, "an Int32Array expected");
    return NULL;
  }
  return data;
}

/** waitNoHang(pid, status: Int32Array) → pid when reaped (status[0] = its wait status), 0 while it runs, -errno (ECHILD: not ours). */
static napi_value wait_no_hang(napi_env env, napi_callback_info info) {
  size_t argc = 2, length = 0;
  napi_value args[2];
  napi_get_cb_info(env, info, &argc, args, NULL, NULL);
  int32_t *status = int32_array(env, args[1], &length);
  if (!status || length < 1) return NULL;
  int st = 0;
  pid_t got;
  while ((got = waitpid(int_arg(env, args[0]), &st, WNOHANG)) < 0 && errno == EINTR) {}
  if (got < 0) return number(env, -errno);
  if (got > 0) {
    spawned_remove(got);
    status[0] = st;
  }
  return number(env, got);
}

/**
 * reapAll(out: Int32Array) → n: reaps exited children (waitpid(-1)) until none
 * is left or `out` is full of the (pid, status) pairs, out[0..2n), of
 * children spawn() started; orphans are reaped and not reported. Only for
 * when nobody else (libuv, node-pty) waits for a child of ours: it would
 * steal their exit statuses.
 */
static napi_value reap_all(napi_env env, napi_callback_info info) {
  size_t argc = 1, length = 0;
  napi_value args[1];
  napi_get_cb_info(env, info, &argc, args, NULL, NULL);
  int32_t *out = int32_array(env, args[0], &length);
  if (!out) return NULL;
  size_t n = 0;
  while (n + 2 <= length) {
    int st = 0;
    pid_t got = waitpid(-1, &st, WNOHANG);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    if (!spawned_remove(got)) continue;
    out[n++] = got;
    out[n++] = st;
  }
  return number(env, (double)(n / 2));
}

/** peekExited() → the pid of some exited child, without reaping it (waitid WNOWAIT), or 0. */
static napi_value peek_exited(napi_env env, napi_callback_info info) {
  (void)info;
  siginfo_t si;
  memset(&si, 0, sizeof si);
  if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0) return number(env, 0);
  return number(env, si.si_pid);
}

/** flock(fd, operation) → 0, or -errno (EWOULDBLOCK: another process holds it). */
static napi_value flock_fd(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value args[2];
  napi_get_cb_info(env, info, &argc, args, NULL, NULL);
  int r;
  while ((r = flock(int_arg(env, args[0]), int_arg(env, args[1]))) < 0 && errno == EINTR) {}
  return number(env, r < 0 ? -errno : 0);
}

/** becomeSubreaper() → 0, or -errno: orphaned descendants re-parent to us instead of the real init. */
static napi_value become_subreaper(napi_env env, napi_callback_info info) {
  (void)info;
  return number(env, prctl(PR_SET_CHILD_SUBREAPER, 1) < 0 ? -errno : 0);
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"waitNoHang", NULL, wait_no_hang, NULL, NULL, NULL, napi_default, NULL},
    {"reapAll", NULL, reap_all, NULL, NULL, NULL, napi_default, NULL},
    {"peekExited", NULL, peek_exited, NULL, NULL, NULL, napi_default, NULL},
    {"flock", NULL, flock_fd, NULL, NULL, NULL, napi_default, NULL},
    {"becomeSubreaper", NULL, become_subreaper, NULL, NULL, NULL, napi_default, NULL},
    {"pipe", NULL, make_pipe, NULL, NULL, NULL, napi_default, NULL},
    {"setPipeSize", NULL, set_pipe_size, NULL, NULL, NULL, napi_default, NULL},
    {"reserveFds", NULL, reserve_fds, NULL, NULL, NULL, napi_default, NULL},
    {"cloexecInherited", NULL, cloexec_inherited, NULL, NULL, NULL, napi_default, NULL},
    {"prefixInto", NULL, prefix_into, NULL, NULL, NULL, napi_default, NULL},
    {"watchReadable", NULL, watch_readable, NULL, NULL, NULL, napi_default, NULL},
    {"pauseWatch", NULL, pause_watch, NULL, NULL, NULL, napi_default, NULL},
    {"closeWatch", NULL, close_watch, NULL, NULL, NULL, napi_default, NULL},
    {"readInto", NULL, read_into, NULL, NULL, NULL, napi_default, NULL},
    {"readVia", NULL, read_via, NULL, NULL, NULL, napi_default, NULL},
    {"collectStartupGarbage", NULL, collect_startup_garbage, NULL, NULL, NULL, napi_default, NULL},
    {"spawn", NULL, spawn, NULL, NULL, NULL, napi_default, NULL},
    {"signalIfStarted", NULL, signal_if_started, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
