// Reaping: waitpid()/waitid() for pids Node did not spawn, and a loop that
// reaps a pile of orphans in one call, telling JS only of the children
// spawn() started: an orphan's exit status interests no one. Here too the
// set of those children, and the calls that keep orphans and reused pids in
// their place (becomeSubreaper, signalIfStarted).
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "addon.h"

// The children spawn() started that nobody has reaped yet, whose exits JS
// watches: an open-addressing set (linear probing, 0 = empty slot).
static pid_t *spawned;
static size_t spawned_cap, spawned_count;

static size_t home_slot(pid_t pid, size_t mask) { return ((uint32_t)pid * 2654435761u) & mask; }

/** Room for one more pid, made before a spawn so that recording its child cannot fail. */
int spawned_reserve(void) {
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

void spawned_add(pid_t pid) {
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

/** waitNoHang(pid, status: Int32Array) → pid when reaped (status[0] = its wait status), 0 while it runs, -errno (ECHILD: not ours). */
napi_value wait_no_hang(napi_env env, napi_callback_info info) {
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
napi_value reap_all(napi_env env, napi_callback_info info) {
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
napi_value peek_exited(napi_env env, napi_callback_info info) {
  (void)info;
  siginfo_t si;
  memset(&si, 0, sizeof si);
  if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0) return number(env, 0);
  return number(env, si.si_pid);
}

/**
 * signalIfStarted(pid, startTicks, signal) → 0, or -errno. Signals `pid` only
 * if it is still the process that started at `startTicks` (field 22 of
 * /proc/PID/stat): through a pidfd taken before the check, so a pid reused
 * between the check and the signal is never hit. -ESRCH: gone or another process.
 */
napi_value signal_if_started(napi_env env, napi_callback_info info) {
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

/** becomeSubreaper() → 0, or -errno: orphaned descendants re-parent to us instead of the real init. */
napi_value become_subreaper(napi_env env, napi_callback_info info) {
  (void)info;
  return number(env, prctl(PR_SET_CHILD_SUBREAPER, 1) < 0 ? -errno : 0);
}
