// Small files read and written whole, one call each: the configuration
// stage reads every env and secret file and writes every rendered file
// before anything starts. Through Node's fs each file took five or six
// calls, each with its own argument checks and Stats object (four Dates);
// here it is the system calls alone.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addon.h"

static int close_keeping_errno(int fd) {
  int saved = errno;
  close(fd);
  errno = saved;
  return -1;
}

/**
 * The content of a regular file, at most `limit` bytes (a longer file gives
 * limit + 1, so the caller can tell), into `scratch` when it fits, else
 * into a malloc'd *grown. Checked before the open: a FIFO blocks an open
 * until a writer comes and opening a device may do something (a watchdog
 * arms); O_NONBLOCK covers a FIFO swapped in after the stat. Returns the
 * byte count, or -1 with errno set, or -2 with *type the file's S_IFMT bits
 * when it is not a regular file.
 */
static ssize_t read_regular(const char *path, size_t limit, char *scratch, size_t scratch_len, char **grown, mode_t *type) {
  struct stat st;
  if (stat(path, &st) < 0) return -1;
  if (!S_ISREG(st.st_mode)) {
    *type = st.st_mode & S_IFMT;
    return -2;
  }
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) return -1;
  if (fstat(fd, &st) < 0) return close_keeping_errno(fd);
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    *type = st.st_mode & S_IFMT;
    return -2;
  }
  // one byte over the size to see the end (or growth) in the first read
  size_t want = (size_t)st.st_size < limit ? (size_t)st.st_size + 1 : limit + 1;
  char *buf = scratch;
  size_t cap = scratch_len;
  if (want > scratch_len) {
    if (!(buf = malloc(want))) return close_keeping_errno(fd);
    cap = want;
  }
  if (cap > limit + 1) cap = limit + 1;
  size_t total = 0;
  for (;;) {
    ssize_t n = read(fd, buf + total, cap - total);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      if (buf != scratch) free(buf);
      return close_keeping_errno(fd);
    }
    if (n == 0) break;
    total += (size_t)n;
    // as long as it said: at its end, no read for the 0 (a file that says 0, as in /proc, is read to its 0)
    if (total < cap && st.st_size > 0 && total >= (size_t)st.st_size) break;
    if (total < cap) continue;
    if (cap == limit + 1) break;
    // it grew since the fstat (or, as a /proc file, said 0): read on, up to the limit
    size_t more = cap < 4096 ? 4096 : cap * 2;
    if (more > limit + 1) more = limit + 1;
    char *bigger = buf == scratch ? malloc(more) : realloc(buf, more);
    if (!bigger) {
      if (buf != scratch) free(buf);
      return close_keeping_errno(fd);
    }
    if (buf == scratch) memcpy(bigger, scratch, total);
    buf = bigger;
    cap = more;
  }
  close(fd);
  if (buf != scratch) *grown = buf;
  return (ssize_t)total;
}

static const char *kind_of(mode_t type) {
  switch (type) {
    case S_IFDIR: return "directory";
    case S_IFIFO: return "FIFO";
    case S_IFCHR: return "character device";
    case S_IFBLK: return "block device";
    default: return "socket";
  }
}

/**
 * readRegularFile(path, limit, scratch) → the byte count, when the file was
 * read into `scratch`; a new Buffer, when it did not fit; limit + 1 bytes
 * either way when the file is longer than `limit`; -errno; or, for a file
 * that is not regular, what it is ("directory", "FIFO", …).
 */
napi_value read_regular_file(napi_env env, napi_callback_info info) {
  napi_value args[3];
  void *scratch;
  size_t scratch_len;
  if (!buffer_call(env, info, 3, args, &scratch, &scratch_len, "readRegularFile(path, limit, scratch)")) return NULL;
  char *path = string_arg(env, args[0]);
  if (!path) return number(env, -EINVAL);
  int64_t limit = 0;
  napi_get_value_int64(env, args[1], &limit);
  char *grown = NULL;
  mode_t type = 0;
  ssize_t n = limit >= 0 ? read_regular(path, (size_t)limit, scratch, scratch_len, &grown, &type) : (errno = EINVAL, -1);
  free(path);
  napi_value out;
  if (n == -2) {
    napi_create_string_utf8(env, kind_of(type), NAPI_AUTO_LENGTH, &out);
    return out;
  }
  if (n < 0) return number(env, -errno);
  if (!grown) return number(env, (double)n);
  napi_status status = napi_create_buffer_copy(env, (size_t)n, grown, NULL, &out);
  free(grown);
  return status == napi_ok ? out : number(env, -ENOMEM);
}

/** Whether `path` is a regular file that holds exactly `data`, with `mode` (and uid:gid when uid >= 0). */
static bool holds(const char *path, const void *data, size_t length, int mode, int uid, int gid) {
  struct stat st;
  if (stat(path, &st) < 0 || !S_ISREG(st.st_mode) || (int)(st.st_mode & 07777) != mode || (size_t)st.st_size != length) return false;
  if (uid >= 0 && (st.st_uid != (uid_t)uid || st.st_gid != (gid_t)gid)) return false;
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) return false;
  char *now = malloc(length + 1);
  size_t total = 0;
  ssize_t n = 0;
  // one byte over: a file that grew since the stat is not the same
  while (now && total <= length && ((n = read(fd, now + total, length + 1 - total)) > 0 || (n < 0 && errno == EINTR))) total += n > 0 ? (size_t)n : 0;
  bool same = now && n >= 0 && total == length && memcmp(now, data, length) == 0;
  free(now);
  close(fd);
  return same;
}

/**
 * writeFileAtomically(temp, path, mode, uid, gid, bytes) → 0, 1 when `path`
 * already held the bytes with that mode and owner (nothing written: a
 * watcher of it sees nothing), or -errno: the bytes into a new `temp`
 * (created 0600, given to uid:gid when uid >= 0, then its mode: no one can
 * open it wider in between, and the umask does not apply), renamed over
 * `path`. On failure `temp` is gone and `path` as it was.
 */
napi_value write_file_atomically(napi_env env, napi_callback_info info) {
  napi_value args[6];
  void *data;
  size_t length;
  if (!buffer_call(env, info, 6, args, &data, &length, "writeFileAtomically(temp, path, mode, uid, gid, bytes)")) return NULL;
  char *temp = string_arg(env, args[0]);
  char *path = string_arg(env, args[1]);
  int mode = int_arg(env, args[2]), uid = int_arg(env, args[3]), gid = int_arg(env, args[4]);
  int result = -EINVAL;
  if (temp && path && holds(path, data, length, mode, uid, gid)) result = 1;
  else if (temp && path) {
    int fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) result = -errno;
    else {
      result = 0;
      if (uid >= 0 && fchown(fd, (uid_t)uid, (gid_t)gid) < 0) result = -errno;
      if (!result && fchmod(fd, (mode_t)mode) < 0) result = -errno;
      for (size_t at = 0; !result && at < length;) {
        ssize_t n = write(fd, (char *)data + at, length - at);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) result = -errno;
        else at += (size_t)n;
      }
      if (close(fd) < 0 && !result && errno != EINTR) result = -errno;
      if (!result && rename(temp, path) < 0) result = -errno;
      if (result) unlink(temp);
    }
  }
  free(temp);
  free(path);
  return number(env, result);
}
