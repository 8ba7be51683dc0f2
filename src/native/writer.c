// The relay's writer thread: a fast service's formatted output copied into
// the init's stdout off the event loop. That copy (and the page allocation
// and wake-up behind each pipe write) was a quarter of the event loop's time
// in a json flood, with the other core a third idle; on a thread of its own
// the loop formats the next read while the last one is written. Chunks are
// written whole and in the order given; the caller keeps each Buffer alive
// (and unchanged) until it is told the chunk is written. The thread starts
// at the first chunk, so an init whose services never flood has none.
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>
#include <uv.h>

#include "addon.h"

struct chunk {
  const char *data;
  size_t len;
};

struct writer {
  int fd;
  napi_env env;
  napi_ref callback;
  // its own, not the module's: a worker's environment may make writers after another's has ended
  napi_async_context context;
  uv_async_t written;
  uv_thread_t thread;
  bool started;
  uv_mutex_t lock;
  uv_cond_t more;
  // under lock: the ring of chunks not yet reported written; its first `done` are written
  struct chunk *ring;
  size_t cap, first, count, done;
  // errno of the write that failed: the thread writes nothing after it
  int error;
  // the environment is going away (a worker's end): the thread leaves after the chunk it is writing, without a word
  bool closed;
};

/** What the thread runs: the chunks in order, each whole (a non-blocking fd waits in poll), until a write fails. */
static void write_chunks(void *arg) {
  struct writer *w = arg;
  uv_mutex_lock(&w->lock);
  for (;;) {
    while (w->done == w->count && !w->closed) uv_cond_wait(&w->more, &w->lock);
    if (w->closed) break;
    struct chunk c = w->ring[(w->first + w->done) % w->cap];
    uv_mutex_unlock(&w->lock);
    int error = 0;
    while (c.len > 0) {
      ssize_t n = write(w->fd, c.data, c.len);
      if (n >= 0) {
        c.data += n;
        c.len -= (size_t)n;
      } else if (errno == EAGAIN) {
        struct pollfd p = {.fd = w->fd, .events = POLLOUT};
        poll(&p, 1, -1);
      } else if (errno != EINTR) {
        error = errno;
        break;
      }
    }
    uv_mutex_lock(&w->lock);
    if (w->closed) break;
    w->done++;
    w->error = error;
    uv_async_send(&w->written);
    if (error) break;
  }
  uv_mutex_unlock(&w->lock);
}

/**
 * The environment is torn down (a worker thread's end; the init's own ends
 * with the process): the loop must not be left an open handle. The writer
 * is left allocated, as its thread may still be in a write (see
 * keep_loaded).
 */
static void on_cleanup(void *arg) {
  struct writer *w = arg;
  uv_mutex_lock(&w->lock);
  w->closed = true;
  uv_cond_signal(&w->more);
  uv_mutex_unlock(&w->lock);
  uv_close((uv_handle_t *)&w->written, NULL);
}

/** On the event loop: tells JS how many chunks were written since it was last told, and the errno of a failed write (0: none). */
static void on_written(uv_async_t *async) {
  struct writer *w = async->data;
  uv_mutex_lock(&w->lock);
  size_t done = w->done;
  int error = w->error;
  w->first = (w->first + done) % w->cap;
  w->count -= done;
  w->done = 0;
  uv_mutex_unlock(&w->lock);
  napi_handle_scope scope;
  napi_open_handle_scope(w->env, &scope);
  napi_value argv[2] = {number(w->env, (double)done), number(w->env, error)};
  call_back(w->env, w->callback, w->context, 2, argv);
  napi_close_handle_scope(w->env, scope);
}

/**
 * A writer's thread may outlive its environment, in a write to a reader that
 * takes nothing: Node unloads an addon when the last environment using it
 * ends (a worker's), so the thread's code is pinned in memory before it
 * starts.
 */
static bool keep_loaded(void) {
  static bool kept = false;
  Dl_info self;
  if (!kept && dladdr((void *)keep_loaded, &self) && self.dli_fname) kept = dlopen(self.dli_fname, RTLD_NOW | RTLD_NODELETE) != NULL;
  return kept;
}

/**
 * fdWriter(fd, callback) → writer: chunks given to fdWrite are written to
 * `fd` on a thread of the writer's own; callback(written, errno) runs on
 * the event loop after chunks are written (errno ≠ 0: the last of them
 * failed, and nothing more is written). The writer lives as long as the
 * process (it is the init's stdout's); it does not keep the loop alive.
 */
napi_value fd_writer(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value args[2];
  napi_get_cb_info(env, info, &argc, args, NULL, NULL);
  uv_loop_t *loop = NULL;
  struct writer *w = calloc(1, sizeof *w);
  if (w) w->ring = calloc(16, sizeof *w->ring);
  if (!w || !w->ring || napi_get_uv_event_loop(env, &loop) != napi_ok || uv_mutex_init(&w->lock) != 0) goto failed;
  if (uv_cond_init(&w->more) != 0) {
    uv_mutex_destroy(&w->lock);
    goto failed;
  }
  if (uv_async_init(loop, &w->written, on_written) != 0) {
    uv_cond_destroy(&w->more);
    uv_mutex_destroy(&w->lock);
    goto failed;
  }
  napi_value resource, name;
  napi_create_object(env, &resource);
  napi_create_string_utf8(env, "berth:writer", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, resource, name, &w->context);
  uv_unref((uv_handle_t *)&w->written);
  w->written.data = w;
  w->fd = int_arg(env, args[0]);
  w->cap = 16;
  w->env = env;
  napi_create_reference(env, args[1], 1, &w->callback);
  napi_add_env_cleanup_hook(env, on_cleanup, w);
  napi_value out;
  napi_create_external(env, w, NULL, NULL, &out);
  return out;
failed:
  if (w) free(w->ring);
  free(w);
  napi_throw_error(env, NULL, "fdWriter: cannot make a writer");
  return NULL;
}

/** fdWrite(writer, buffer) → 0, or -errno (the thread could not start, or no memory: nothing was queued): queues `buffer` to be written after what is queued. */
napi_value fd_write(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value args[2];
  napi_get_cb_info(env, info, &argc, args, NULL, NULL);
  void *w_ = NULL, *data = NULL;
  size_t len = 0;
  if (argc < 2 || napi_get_value_external(env, args[0], &w_) != napi_ok || !w_ || napi_get_buffer_info(env, args[1], &data, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "fdWrite: a writer and a Buffer expected");
    return NULL;
  }
  struct writer *w = w_;
  if (!w->started) {
    // a small stack: the thread only loops over write and poll
    uv_thread_options_t options = {.flags = UV_THREAD_HAS_STACK_SIZE, .stack_size = 64 * 1024};
    if (!keep_loaded()) return number(env, -ENOEXEC);
    int err = uv_thread_create_ex(&w->thread, &options, write_chunks, w);
    if (err) return number(env, err);
    pthread_detach(w->thread);
    w->started = true;
  }
  uv_mutex_lock(&w->lock);
  if (w->count == w->cap) {
    struct chunk *ring = malloc(2 * w->cap * sizeof *ring);
    if (!ring) {
      uv_mutex_unlock(&w->lock);
      return number(env, -ENOMEM);
    }
    for (size_t i = 0; i < w->count; i++) ring[i] = w->ring[(w->first + i) % w->cap];
    free(w->ring);
    w->ring = ring;
    w->first = 0;
    w->cap *= 2;
  }
  w->ring[(w->first + w->count) % w->cap] = (struct chunk){data, len};
  w->count++;
  uv_cond_signal(&w->more);
  uv_mutex_unlock(&w->lock);
  return number(env, 0);
}
