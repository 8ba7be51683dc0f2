// spawn(): starts a service like posix_spawn does (clone with CLONE_VM |
// CLONE_VFORK: no copy of the init's page tables), but also sets what
// posix_spawn cannot: the user switch and a parent-death signal armed after
// it (a credential change clears PR_SET_PDEATHSIG), so no extra exec of
// setpriv is needed per service. Nor is the init's fd table copied (see
// struct slots).
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "addon.h"

#define CHILD_STACK_SIZE (256 * 1024)
#define MAX_GROUPS 256
#define MAX_CGROUPS 8

// A child cloned with its own copy of the init's fd table pays for every
// descriptor twice: the copy (in the parent, under vfork) and the close of
// each close-on-exec one at exec. With 1,000 services that is 2,000 relay
// pipes, ~0.2 ms of CPU per spawn. So the child shares the table
// (CLONE_FILES) and its first act is close_range(end, INT_MAX,
// CLOSE_RANGE_UNSHARE): a private table holding only the descriptors below
// `end` (INT_MAX, not ~0: gVisor refuses a last fd above it). What the child
// needs is put there first, in four low descriptors the init keeps for it;
// each holds /dev/null between spawns, so no pipe end outlives its spawn here
// (the relay waits for EOF on those).
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
  bool child_first;
  int ncgroups;
  int cgroup_fds[MAX_CGROUPS]; // cgroup.procs files, open for writing: the child joins each before anything else
  pid_t parent;
  sigset_t mask;    // the parent's mask, restored by no one in the child: services start with none blocked
  volatile int err; // set by the child before it _exits; shared memory (CLONE_VM)
  volatile int failed_join; // 1 + the index of the cgroup the child could not join, with err
};

// Puts `fd` at `target`; dup2 onto itself would keep FD_CLOEXEC, so clear it then.
static int move_fd(int fd, int target) {
  if (fd == target) {
    int flags = fcntl(fd, F_GETFD);
    return flags < 0 ? -1 : fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC);
  }
  return dup2(fd, target) < 0 ? -1 : 0;
}

// systemd's WATCHDOG_PID is the service's own pid, which only the child
// knows: the launcher sends WATCHDOG_PID=__________ (WATCHDOG_PID_PLACEHOLDER
// in spawn.ts) and the child writes its pid over the placeholder, in the
// request's own copy of the string. Async-signal-safe: no stdio.
static void fill_watchdog_pid(char **envp) {
  static const char key[] = "WATCHDOG_PID=__________";
  for (char **e = envp; *e; e++) {
    if (strcmp(*e, key) != 0) continue;
    char digits[16];
    int n = 0;
    for (long pid = syscall(SYS_getpid); pid > 0 && n < (int)sizeof digits; pid /= 10) digits[n++] = (char)('0' + pid % 10);
    char *out = *e + sizeof "WATCHDOG_PID=" - 1;
    while (n > 0) *out++ = digits[--n];
    *out = '\0';
    return;
  }
}

// Runs in the child, on its own stack, in the parent's memory, until execve.
// Only async-signal-safe calls, and raw syscalls for credentials: glibc's
// setresuid() would broadcast to the parent's threads (it shares their list).
static int child_main(void *arg) {
  struct spawn_request *r = arg;
  // The cgroups first: their fds are the init's, which the close_range below
  // drops, and all the child does and forks from here on is counted there.
  // "0" is the writer itself. (clone3's CLONE_INTO_CGROUP would do this in
  // the kernel, but on cgroup v2 alone.)
  for (int i = 0; i < r->ncgroups; i++) {
    ssize_t n = write(r->cgroup_fds[i], "0", 1);
    if (n != 1) {
      if (n >= 0) errno = EIO;
      r->failed_join = i + 1;
      goto fail;
    }
  }
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
  fill_watchdog_pid(r->envp);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  execve(r->file, r->argv, r->envp);
fail:
  r->err = errno ? errno : EINVAL;
  _exit(127);
}

static void *child_stack;

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
    // a cgroup the child could not join: its index above the errno's 16 bits
    return -(r->err | r->failed_join << 16);
  }
  spawned_add(pid);
  // A job due now: the child has exec'd on this CPU, and the init, woken by
  // the exec, would take the CPU back from it for its own bookkeeping (about a
  // millisecond) while the other CPU is asleep; its run comes first.
  if (r->child_first) sched_yield();
  return pid;
}

/** The field `name` of `object` if it is a `type`; NULL when `object` is NULL, or the field is absent (undefined) or of another type. */
static napi_value field(napi_env env, napi_value object, const char *name, napi_valuetype type) {
  napi_value v;
  napi_valuetype got;
  if (!object || napi_get_named_property(env, object, name, &v) != napi_ok || napi_typeof(env, v, &got) != napi_ok || got != type) return NULL;
  return v;
}

/** A number field as an int, or `absent`. */
static int int_field(napi_env env, napi_value object, const char *name, int absent) {
  napi_value v = field(env, object, name, napi_number);
  return v ? int_arg(env, v) : absent;
}

/**
 * spawn({ file, argv, env, cwd?, input?, output, error?, user?: { uid, gid,
 * groups }, deathSignal?, extraFd?: { source, target }, cgroupProcs?: [fd],
 * childFirst? }) → pid, or -errno when the child could not exec (reported synchronously,
 * the child already reaped); -(errno | (1 + i) << 16) when it could not join
 * the cgroup of cgroupProcs[i]. Absent (undefined or null) fields are not
 * set: no input is /dev/null, no error the output, no user the init's
 * credentials, no cgroupProcs the init's cgroups.
 */
napi_value spawn(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value request;
  napi_valuetype type = napi_undefined;
  napi_get_cb_info(env, info, &argc, &request, NULL, NULL);
  if (argc < 1 || napi_typeof(env, request, &type) != napi_ok || type != napi_object) {
    napi_throw_type_error(env, NULL, "spawn: a request object expected");
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
  napi_value file_arg = field(env, request, "file", napi_string), cwd_arg = field(env, request, "cwd", napi_string);
  char *file = file_arg ? string_arg(env, file_arg) : NULL;
  char *cwd = cwd_arg ? string_arg(env, cwd_arg) : NULL;
  char **argv = string_array(env, field(env, request, "argv", napi_object));
  char **envp = string_array(env, field(env, request, "env", napi_object));
  int result = -ENOMEM;
  if (!file || !argv || !envp || (cwd_arg && !cwd) || spawned_reserve() < 0) goto out;
  r.file = file;
  r.argv = argv;
  r.envp = envp;
  r.cwd = cwd;
  r.input = int_field(env, request, "input", -1);
  r.output = int_field(env, request, "output", -1);
  napi_value user = field(env, request, "user", napi_object);
  r.uid = int_field(env, user, "uid", -1);
  r.gid = int_field(env, user, "gid", -1);
  napi_value groups = field(env, user, "groups", napi_object);
  uint32_t ngroups = 0;
  if (groups) napi_get_array_length(env, groups, &ngroups);
  if (ngroups > MAX_GROUPS) {
    result = -EINVAL;
    goto out;
  }
  for (uint32_t i = 0; i < ngroups; i++) {
    napi_value g;
    napi_get_element(env, groups, i, &g);
    r.groups[i] = (gid_t)int_arg(env, g);
  }
  r.ngroups = (int)ngroups;
  r.death_signal = int_field(env, request, "deathSignal", 0);
  napi_value child_first = field(env, request, "childFirst", napi_boolean);
  if (child_first) napi_get_value_bool(env, child_first, &r.child_first);
  napi_value extra = field(env, request, "extraFd", napi_object);
  r.extra_source = int_field(env, extra, "source", -1);
  r.extra_target = int_field(env, extra, "target", -1);
  r.error = int_field(env, request, "error", -1);
  napi_value cgroups = field(env, request, "cgroupProcs", napi_object);
  uint32_t ncgroups = 0;
  if (cgroups) napi_get_array_length(env, cgroups, &ncgroups);
  if (ncgroups > MAX_CGROUPS) {
    result = -EINVAL;
    goto out;
  }
  for (uint32_t i = 0; i < ncgroups; i++) {
    napi_value fd;
    napi_get_element(env, cgroups, i, &fd);
    r.cgroup_fds[i] = int_arg(env, fd);
    // not an open fd: EBADF here, not from the child
    if (fcntl(r.cgroup_fds[i], F_GETFD) < 0) {
      result = -EBADF;
      goto out;
    }
  }
  r.ncgroups = (int)ncgroups;
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
