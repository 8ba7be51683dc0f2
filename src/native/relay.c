// The log relay's I/O. watchReadable(): its pipes, watched by libuv's poll
// handle and read with read(2) (readInto) or through a pipe of the init's
// own (readVia): a net.Socket per pipe cost ~85 us and ~5 kB per service.
// prefixInto(): each line after its service's prefix; jsonInto(): each line
// as a json object. spliceLines(): the plain format's whole lines moved to
// stdout without a copy.
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "addon.h"

/** A formatting call's three Buffers (lines, what goes before each, the output), or a TypeError thrown. */
static bool three_buffers(napi_env env, napi_callback_info info, void **a, size_t *an, void **b, size_t *bn, void **c, size_t *cn, const char *expected) {
  size_t argc = 3;
  napi_value args[3];
  napi_get_cb_info(env, info, &argc, args, NULL, NULL);
  if (argc >= 3 && napi_get_buffer_info(env, args[0], a, an) == napi_ok && napi_get_buffer_info(env, args[1], b, bn) == napi_ok &&
      napi_get_buffer_info(env, args[2], c, cn) == napi_ok)
    return true;
  napi_throw_type_error(env, NULL, expected);
  return false;
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
napi_value prefix_into(napi_env env, napi_callback_info info) {
  void *src, *pre, *dst;
  size_t n, pn, room;
  if (!three_buffers(env, info, &src, &n, &pre, &pn, &dst, &room, "prefixInto: three Buffers expected")) return NULL;
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
  napi_async_context context;
};

/**
 * One async context for every watcher's callback in `env`: what each call
 * needs is the nextTick and microtask run after it, not a resource of its
 * own. Kept as the addon's instance data, one per environment: the addon
 * stays loaded from one worker's environment to the next (writer.c), and a
 * context is its environment's.
 */
static napi_async_context watch_context(napi_env env) {
  void *context = NULL;
  if (napi_get_instance_data(env, &context) == napi_ok && context) return context;
  napi_value resource, name;
  napi_create_object(env, &resource);
  napi_create_string_utf8(env, "berth:pipe", NAPI_AUTO_LENGTH, &name);
  napi_async_context made = NULL;
  napi_async_init(env, resource, name, &made);
  napi_set_instance_data(env, made, NULL, NULL);
  return made;
}

static void on_readable(uv_poll_t *poll, int status, int events) {
  (void)status;
  (void)events;
  struct watcher *w = poll->data;
  call_back(w->env, w->callback, w->context, 0, NULL);
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
  w->context = watch_context(env);
  w->poll.data = w;
  napi_create_reference(env, args[1], 1, &w->callback);
  uv_poll_start(&w->poll, UV_READABLE, on_readable);
  napi_value out;
  napi_create_external(env, w, NULL, NULL, &out);
  return out;
}

/** Length of the valid UTF-8 sequence at s (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF), or 0. */
static size_t utf8_length(const unsigned char *s, const unsigned char *end) {
  unsigned char c = s[0];
  if (c < 0x80) return 1;
#define CONT(k, lo, hi) (s + (k) < end && s[k] >= (lo) && s[k] <= (hi))
  if (c >= 0xc2 && c <= 0xdf) return CONT(1, 0x80, 0xbf) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) return CONT(1, c == 0xe0 ? 0xa0 : 0x80, c == 0xed ? 0x9f : 0xbf) && CONT(2, 0x80, 0xbf) ? 3 : 0;
  if (c >= 0xf0 && c <= 0xf4) return CONT(1, c == 0xf0 ? 0x90 : 0x80, c == 0xf4 ? 0x8f : 0xbf) && CONT(2, 0x80, 0xbf) && CONT(3, 0x80, 0xbf) ? 4 : 0;
#undef CONT
  return 0;
}

/** One byte that JSON.stringify escapes (a control character, `"` or `\`) as it does, at o; returns the end. */
static char *json_escape_byte(unsigned char c, char *o) {
  static const char hex[] = "0123456789abcdef";
  *o++ = '\\';
  switch (c) {
    case '"': *o++ = '"'; break;
    case '\\': *o++ = '\\'; break;
    case '\b': *o++ = 'b'; break;
    case '\f': *o++ = 'f'; break;
    case '\n': *o++ = 'n'; break;
    case '\r': *o++ = 'r'; break;
    case '\t': *o++ = 't'; break;
    default:
      *o++ = 'u';
      *o++ = '0';
      *o++ = '0';
      *o++ = hex[c >> 4];
      *o++ = hex[c & 15];
  }
  return o;
}

/**
 * The byte at *s that JSON escapes (a control character, `"` or `\`) or
 * that starts a UTF-8 sequence: escaped, or its sequence copied, at *o;
 * false when the sequence is not valid UTF-8 (what Buffer's isUtf8 says).
 */
static inline bool json_special_byte(const unsigned char **s, const unsigned char *end, char **o) {
  if (**s >= 0x80) {
    size_t n = utf8_length(*s, end);
    if (!n) return false;
    memcpy(*o, *s, n);
    *o += n;
    *s += n;
  } else {
    *o = json_escape_byte(*(*s)++, *o);
  }
  return true;
}

/** [s, end) as a JSON string's content (what JSON.stringify writes between the quotes) at o, a byte at a time; returns the end, or NULL when it is not valid UTF-8. */
static char *json_escape(const unsigned char *s, const unsigned char *end, char *o) {
  while (s < end) {
    unsigned char c = *s;
    if (c >= 0x80 || c < 0x20 || c == '"' || c == '\\') {
      if (!json_special_byte(&s, end, &o)) return NULL;
    } else {
      *o++ = (char)c;
      s++;
    }
  }
  return o;
}

#if defined(__x86_64__)
/**
 * The 32 bytes at *s stored at *o as they are; both move past them, or only
 * up to the first that json_special_byte must take (a control character, a
 * newline too, `"`, `\`, or past ASCII), and then it returns true.
 */
__attribute__((target("avx2"))) static inline bool json_block(const unsigned char **s, char **o) {
  const __m256i space = _mm256_set1_epi8(0x20), quote = _mm256_set1_epi8('"'), backslash = _mm256_set1_epi8('\\');
  __m256i block = _mm256_loadu_si256((const __m256i *)*s);
  // signed: a byte past ASCII is below 0x20 too
  __m256i special = _mm256_or_si256(_mm256_cmpgt_epi8(space, block), _mm256_or_si256(_mm256_cmpeq_epi8(block, quote), _mm256_cmpeq_epi8(block, backslash)));
  unsigned mask = (unsigned)_mm256_movemask_epi8(special);
  _mm256_storeu_si256((__m256i *)*o, block);
  unsigned plain = mask ? (unsigned)__builtin_ctz(mask) : 32;
  *s += plain;
  *o += plain;
  return mask != 0;
}

/**
 * json_escape 32 bytes at a time: a block with nothing to escape and no
 * byte past ASCII (most log lines, all through) is stored as loaded; at the
 * first byte that is, the bytes before it are already stored, and that one
 * (or its UTF-8 sequence) goes a byte at a time. A store may run up to 32
 * bytes past what it means: the caller's room holds 6 bytes per byte. For
 * what json_lines_blocks leaves: a chunk's last line, or a long one.
 */
__attribute__((target("avx2"))) static char *json_escape_blocks(const unsigned char *s, const unsigned char *end, char *o) {
  while (end - s >= 32)
    if (json_block(&s, &o) && !json_special_byte(&s, end, &o)) return NULL;
  return json_escape(s, end, o);
}

/** The longest head json_lines_blocks takes: four 32-byte stores. */
#define JSON_HEAD_BLOCKS 4

/** The first `n` of `heads` at o, one store each (a loop here became a call to memcpy, a third of the time per line). */
__attribute__((target("avx2"))) static inline void store_head(char *o, const __m256i *heads, size_t n) {
  _mm256_storeu_si256((__m256i *)o, heads[0]);
  if (n > 1) _mm256_storeu_si256((__m256i *)(o + 32), heads[1]);
  if (n > 2) _mm256_storeu_si256((__m256i *)(o + 64), heads[2]);
  if (n > 3) _mm256_storeu_si256((__m256i *)(o + 96), heads[3]);
}

/**
 * json_into's lines 32 bytes at a time in one pass: where json_escape_blocks
 * needs each line's end first (a memchr) and the head copied (a memcpy per
 * ~100-byte line), the newline is one more byte the block's compare finds,
 * at which the line's end and the next head are stored. A store may run
 * past what it means, as in json_escape_blocks, so it stops while there is
 * room for a block, an escape or a line's end and head (`room`), and with
 * 32 bytes of input left. It hands back the start of the line it was in:
 * json_into goes on from there with exact bounds (and finds the invalid
 * UTF-8 this stopped at).
 */
__attribute__((target("avx2"))) static void json_lines_blocks(const unsigned char **ps, const unsigned char *end, char **po, const char *limit, const char *head, size_t hn) {
  char padded[32 * JSON_HEAD_BLOCKS] = {0};
  memcpy(padded, head, hn);
  const size_t head_blocks = (hn + 31) / 32, room = 3 + 32 * head_blocks + 32;
  __m256i heads[JSON_HEAD_BLOCKS];
  for (size_t i = 0; i < head_blocks; i++) heads[i] = _mm256_loadu_si256((const __m256i *)(padded + 32 * i));
  const unsigned char *s = *ps, *line = s;
  char *o = *po, *line_out = o;
  if (end - s < 32 || (size_t)(limit - o) < room) return;
  store_head(o, heads, head_blocks);
  o += hn;
  while (end - s >= 32 && (size_t)(limit - o) >= room) {
    if (!json_block(&s, &o)) continue;
    if (*s == '\n') {
      memcpy(o, "\"}\n", 3);
      o += 3;
      line = ++s;
      line_out = o;
      store_head(o, heads, head_blocks);
      o += hn;
    } else if (!json_special_byte(&s, end, &o)) {
      break;
    }
  }
  *ps = line;
  *po = line_out;
}
#endif

/**
 * jsonInto(lines, head, out) → [read, written, invalid]: each whole line of
 * `lines` as `head` (`{"time":…,"line":"`), the line as a JSON string's
 * content, then `"}` and a newline, into `out` while they fit: the json
 * format, as toJson in format.ts writes it (in JS this ran at ~55 MB/s
 * in the init's lite mode). It stops before a line that is not valid UTF-8
 * (invalid 1: the caller writes that one, with its base64) or that would
 * not fit (read 0 with nothing written: a line of its own).
 */
napi_value json_into(napi_env env, napi_callback_info info) {
  void *src, *head, *dst;
  size_t n, hn, room;
  if (!three_buffers(env, info, &src, &n, &head, &hn, &dst, &room, "jsonInto: three Buffers expected")) return NULL;
  const unsigned char *s = src, *end = s + n;
  char *o = dst, *limit = (char *)dst + room;
  bool invalid = false;
#if defined(__x86_64__)
  if (hn <= 32 * JSON_HEAD_BLOCKS && has_avx2()) json_lines_blocks(&s, end, &o, limit, head, hn);
#endif
  while (s < end) {
    const unsigned char *nl = memchr(s, '\n', (size_t)(end - s));
    if (!nl) break;
    // the worst case: every byte as \u00XX
    if ((size_t)(limit - o) < hn + 6 * (size_t)(nl - s) + 3) break;
    memcpy(o, head, hn);
#if defined(__x86_64__)
    char *line_end = has_avx2() ? json_escape_blocks(s, nl, o + hn) : json_escape(s, nl, o + hn);
#else
    char *line_end = json_escape(s, nl, o + hn);
#endif
    if (!line_end) {
      invalid = true;
      break;
    }
    o = line_end;
    memcpy(o, "\"}\n", 3);
    o += 3;
    s = nl + 1;
  }
  napi_value out;
  napi_create_array_with_length(env, 3, &out);
  napi_set_element(env, out, 0, number(env, (double)(s - (const unsigned char *)src)));
  napi_set_element(env, out, 1, number(env, (double)(o - (char *)dst)));
  napi_value flag;
  napi_get_boolean(env, invalid, &flag);
  napi_set_element(env, out, 2, flag);
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

/** What spliceLines reads of each stretch it skips: where it looks for a newline. */
#define SPLICE_WINDOW 4096

/** Moves `len` bytes out of pipe `from` into `to` (a pipe, or /dev/null to drop them); false if it could not. */
static bool move_all(int from, int to, size_t len) {
  while (len > 0) {
    ssize_t n = splice(from, NULL, to, NULL, len, SPLICE_F_MOVE);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    len -= (size_t)n;
  }
  return true;
}

/** Reads exactly `len` bytes of pipe `fd` (which holds them) into `buf`. */
static bool read_all(int fd, char *buf, size_t len) {
  while (len > 0) {
    ssize_t n = read(fd, buf, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    buf += n;
    len -= (size_t)n;
  }
  return true;
}

/**
 * Where the whole lines of what `via` holds (`n` bytes, a tee of the
 * service's pipe) end, reading only part of them: a window of
 * SPLICE_WINDOW bytes every `max_line` − SPLICE_WINDOW bytes, where a
 * newline must be (else a line may be longer than `max_line`, which the
 * framer cuts), and the last `tail_len` bytes whole, into `tail` (what
 * `berth logs` keeps, and where the last newline is). Empties `via`.
 * Returns the length of the whole lines, with *tail_from where the first
 * whole line in `tail` starts (past a line begun before it); 0 when it
 * cannot say (no newline in the tail, or a window without one): the caller
 * reads the classic way; SIZE_MAX when `via` could not be emptied (what it
 * still holds must never be read as new output).
 */
static size_t whole_lines(int via, int devnull, size_t n, size_t max_line, char *tail, size_t tail_len, size_t *tail_from) {
  size_t stride = max_line - SPLICE_WINDOW, start = n > tail_len ? n - tail_len : 0, pos = 0;
  // the last newline seen, as an offset + 1 (0: the chunk's start, which is a line's start)
  size_t line_start = 0;
  char window[SPLICE_WINDOW];
  for (size_t at = 0; at + SPLICE_WINDOW <= start; at += stride) {
    if (!move_all(via, devnull, at - pos)) return SIZE_MAX;
    pos = at;
    if (!read_all(via, window, SPLICE_WINDOW)) return SIZE_MAX;
    pos = at + SPLICE_WINDOW;
    const char *first = memchr(window, '\n', SPLICE_WINDOW);
    if (!first || at + (size_t)(first - window) - line_start >= max_line) goto unknown;
    const char *last = memrchr(window, '\n', SPLICE_WINDOW);
    line_start = at + (size_t)(last - window) + 1;
  }
  if (!move_all(via, devnull, start - pos)) return SIZE_MAX;
  pos = start;
  if (!read_all(via, tail, n - start)) return SIZE_MAX;
  pos = n;
  *tail_from = 0;
  for (const char *p = tail, *end = tail + (n - start); p < end;) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (!nl) break;
    size_t at = start + (size_t)(nl - tail);
    if (at - line_start >= max_line) return 0;
    if (start > 0 && line_start <= start) *tail_from = (size_t)(nl - tail) + 1;
    line_start = at + 1;
    p = nl + 1;
  }
  // no newline in the tail: a long last line, or none at all
  return line_start > start ? line_start : 0;
unknown:
  return move_all(via, devnull, n - pos) ? 0 : SIZE_MAX;
}

/**
 * spliceLines(src, viaWrite, viaRead, dst, devNull, maxLine, tail, rest, out)
 * → bytes taken from `src`, 0 (read it the classic way: its end, no whole
 * line, or a line too long to tell), or -errno (EAGAIN: nothing there now;
 * EINVAL: these fds cannot splice; any other: `via` may hold stale bytes
 * and must go). The plain format's relay for a fast writer, without
 * copying what it relays: the service's pipe is tee'd into `via` (no copy),
 * which is read only in part (whole_lines: ~1/8 of a MiB of 100-byte lines),
 * and its whole lines are spliced (moved, no copy) to `dst`, the init's
 * stdout. What `dst` would not take now is read into `rest` for the caller
 * to write behind it, so lines stay whole. With `dst` < 0 the whole lines
 * are all read into `rest` (the caller's line framer holds the start of
 * one: they finish it, and leave nothing unfinished behind). out: [spliced,
 * tailStart, tailEnd, restLength]; tail[tailStart..tailEnd) are the last
 * whole lines.
 */
napi_value splice_lines(napi_env env, napi_callback_info info) {
  size_t argc = 9;
  napi_value args[9];
  napi_get_cb_info(env, info, &argc, args, NULL, NULL);
  void *tail = NULL, *rest = NULL, *outp = NULL;
  size_t tail_len = 0, rest_len = 0, out_len = 0;
  napi_typedarray_type type;
  if (argc < 9 || napi_get_buffer_info(env, args[6], &tail, &tail_len) != napi_ok || napi_get_buffer_info(env, args[7], &rest, &rest_len) != napi_ok ||
      napi_get_typedarray_info(env, args[8], &type, &out_len, &outp, NULL, NULL) != napi_ok || type != napi_int32_array || out_len < 4) {
    napi_throw_type_error(env, NULL, "spliceLines: five fds, a line bound, two Buffers and an Int32Array(4) expected");
    return NULL;
  }
  int src = int_arg(env, args[0]), via_w = int_arg(env, args[1]), via_r = int_arg(env, args[2]), dst = int_arg(env, args[3]), devnull = int_arg(env, args[4]);
  size_t max_line = (size_t)int_arg(env, args[5]);
  int32_t *out = outp;
  // at most what `rest` holds: a splice that stops short must be able to leave the rest there
  ssize_t n;
  while ((n = tee(src, via_w, rest_len, SPLICE_F_NONBLOCK)) < 0 && errno == EINTR) {}
  if (n <= 0) return number(env, n < 0 ? -errno : 0);
  size_t tail_from = 0;
  size_t lines = whole_lines(via_r, devnull, (size_t)n, max_line, tail, tail_len, &tail_from);
  if (lines == SIZE_MAX) return number(env, -EIO);
  if (lines == 0) return number(env, 0);
  size_t tail_start = (size_t)n > tail_len ? (size_t)n - tail_len : 0;
  ssize_t moved = 0;
  if (dst >= 0) {
    while ((moved = splice(src, NULL, dst, NULL, lines, SPLICE_F_NONBLOCK | SPLICE_F_MOVE)) < 0 && errno == EINTR) {}
    if (moved < 0 && errno != EAGAIN) return number(env, -errno);
    if (moved < 0) moved = 0;
  }
  size_t left = lines - (size_t)moved;
  if (left > 0 && !read_all(src, rest, left)) return number(env, -EIO);
  out[0] = (int32_t)moved;
  out[1] = (int32_t)tail_from;
  out[2] = (int32_t)(lines - tail_start);
  out[3] = (int32_t)left;
  return number(env, (double)lines);
}
