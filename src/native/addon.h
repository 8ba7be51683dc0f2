// What the addon's files share: the Node-API argument helpers (args.c), the
// set of spawned pids (owned by reap.c, filled by spawn.c), close_range's
// flags, and each file's calls, which addon.c registers. Built with
// _GNU_SOURCE and -fvisibility=hidden (binding.gyp): none of these names
// leaves the module.
#ifndef BERTH_ADDON_H
#define BERTH_ADDON_H

#include <node_api.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/types.h>

// Headers older than Linux 5.9 lack close_range; the number is the same on
// every architecture, and a kernel without it says ENOSYS (see slots_open in
// spawn.c).
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

#ifdef __cplusplus
extern "C" {
#endif

// args.c: a call's arguments and results.
char *string_arg(napi_env env, napi_value v);
char **string_array(napi_env env, napi_value array);
void free_array(char **a);
int int_arg(napi_env env, napi_value v);
napi_value number(napi_env env, double n);
void call_back(napi_env env, napi_ref callback, napi_async_context context, size_t argc, const napi_value *argv);
bool buffer_call(napi_env env, napi_callback_info info, size_t argc, napi_value *args, void **data, size_t *length, const char *expected);
int32_t *int32_array(napi_env env, napi_value v, size_t *length);

// reap.c: the children spawn() started that nobody has reaped yet.
int spawned_reserve(void);
void spawned_add(pid_t pid);

// The calls addon.c registers.
// spawn.c
napi_value spawn(napi_env env, napi_callback_info info);
// reap.c
napi_value wait_no_hang(napi_env env, napi_callback_info info);
napi_value reap_all(napi_env env, napi_callback_info info);
napi_value peek_exited(napi_env env, napi_callback_info info);
napi_value signal_if_started(napi_env env, napi_callback_info info);
napi_value become_subreaper(napi_env env, napi_callback_info info);
// fds.c
napi_value make_pipe(napi_env env, napi_callback_info info);
napi_value set_pipe_size(napi_env env, napi_callback_info info);
napi_value reserve_fds(napi_env env, napi_callback_info info);
napi_value cloexec_inherited(napi_env env, napi_callback_info info);
napi_value flock_fd(napi_env env, napi_callback_info info);
// relay.c
napi_value watch_readable(napi_env env, napi_callback_info info);
napi_value pause_watch(napi_env env, napi_callback_info info);
napi_value close_watch(napi_env env, napi_callback_info info);
napi_value read_into(napi_env env, napi_callback_info info);
napi_value read_via(napi_env env, napi_callback_info info);
napi_value prefix_into(napi_env env, napi_callback_info info);
napi_value splice_lines(napi_env env, napi_callback_info info);
napi_value json_into(napi_env env, napi_callback_info info);
// writer.c
napi_value fd_writer(napi_env env, napi_callback_info info);
napi_value fd_write(napi_env env, napi_callback_info info);
// early-stop.c
napi_value exit_on_stop(napi_env env, napi_callback_info info);
// wall-timer.c
napi_value wall_timer(napi_env env, napi_callback_info info);
napi_value set_wall_timer(napi_env env, napi_callback_info info);
// notify-socket.c
napi_value notify_socket(napi_env env, napi_callback_info info);
napi_value notify_receive(napi_env env, napi_callback_info info);
// files.c
napi_value read_regular_file(napi_env env, napi_callback_info info);
napi_value write_file_atomically(napi_env env, napi_callback_info info);
// v8-memory.cc
napi_value collect_startup_garbage(napi_env env, napi_callback_info info);

#ifdef __cplusplus
}
#endif

#endif
