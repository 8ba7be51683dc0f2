// Descriptors: close-on-exec pipes and their size, flock, the fd table
// grown once, off the main thread, before a start burst needs it (see
// grow_fd_table), and cloexecInherited(): what the init inherited stays with
// it, no child gets it.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <unistd.h>

#include "addon.h"

/** pipe(nonBlocking?) → [readFd, writeFd], both close-on-exec (spawn dup2s them where a child needs them); -errno on failure. */
napi_value make_pipe(napi_env env, napi_callback_info info) {
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

/** setPipeSize(fd, bytes) → 0, or -errno (EPERM past the per-user pipe quota): the pipe then keeps its size. */
napi_value set_pipe_size(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value args[2];
  napi_get_cb_info(env, info, &argc, args, NULL, NULL);
  return number(env, fcntl(int_arg(env, args[0]), F_SETPIPE_SZ, int_arg(env, args[1])) < 0 ? -errno : 0);
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
napi_value reserve_fds(napi_env env, napi_callback_info info) {
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

/**
 * cloexecInherited() → 0, or -errno: every fd from 3 up becomes
 * close-on-exec. Node's and libuv's own all are; what is not was left to the
 * init by its parent. Children then get their stdio and readiness pipe and
 * nothing else, whichever way they are started (the addon, libuv for the
 * main command, node-pty). One call on Linux >= 5.11, else a walk of
 * /proc/self/fd.
 */
napi_value cloexec_inherited(napi_env env, napi_callback_info info) {
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

/** flock(fd, operation) → 0, or -errno (EWOULDBLOCK: another process holds it). */
napi_value flock_fd(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value args[2];
  napi_get_cb_info(env, info, &argc, args, NULL, NULL);
  int r;
  while ((r = flock(int_arg(env, args[0]), int_arg(env, args[1]))) < 0 && errno == EINTR) {}
  return number(env, r < 0 ? -errno : 0);
}
