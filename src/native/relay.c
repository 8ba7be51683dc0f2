// The log relay's I/O. watchReadable(): its pipes, watched by libuv's poll
// handle and read with read(2) (readInto) or through a pipe of the init's
// own (readVia): a net.Socket per pipe cost ~85 us and ~5 kB per service.
// prefixInto(): each line after its service's prefix.
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "addon.h"

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
napi_value prefix_into(napi_env env, napi_callback_info info) {
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
napi_value watch_readable(napi_env env, napi_callback_info info) {
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
napi_value pause_watch(napi_env env, napi_callback_info info) {
  napi_value args[2];
  struct watcher *w = watcher_call(env, info, 2, args);
  bool paused = false;
  napi_get_value_bool(env, args[1], &paused);
  if (w && paused) uv_poll_stop(&w->poll);
  else if (w) uv_poll_start(&w->poll, UV_READABLE, on_readable);
  return NULL;
}

/** closeWatch(watcher): no more calls; the watcher is freed on the loop's next turn. Once only. */
napi_value close_watch(napi_env env, napi_callback_info info) {
  napi_value args[1];
  struct watcher *w = watcher_call(env, info, 1, args);
  if (w) {
    uv_poll_stop(&w->poll);
    uv_close((uv_handle_t *)&w->poll, on_closed);
  }
  return NULL;
}

/** readInto(fd, buffer) → bytes read (0: EOF), or -errno (EAGAIN: nothing now). */
napi_value read_into(napi_env env, napi_callback_info info) {
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
napi_value read_via(napi_env env, napi_callback_info info) {
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
