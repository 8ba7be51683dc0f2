// A timer on the wall clock for the jobs' scheduler: a timerfd on
// CLOCK_REALTIME armed for an absolute time, which the kernel fires when the
// clock reads that time (to the microsecond, where a Node timer, counted in
// whole milliseconds on the monotonic clock, fires 1-2 ms late and drifts
// from the wall clock). TFD_TIMER_CANCEL_ON_SET makes a read fail with
// ECANCELED when the clock is set (an NTP step, a laptop that slept), so
// the scheduler hears of a jump at once and needs no periodic wake to look.
// The fd is read through relay.c's watchReadable and readInto.
#include <errno.h>
#include <sys/timerfd.h>

#include "addon.h"

/** wallTimer() → a non-blocking, close-on-exec timerfd on CLOCK_REALTIME, or -errno. */
napi_value wall_timer(napi_env env, napi_callback_info info) {
  (void)info;
  int fd = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
  return number(env, fd < 0 ? -errno : fd);
}

/**
 * setWallTimer(fd, atMs) → 0, or -errno: fires once when the wall clock
 * reads `atMs` (ms since the epoch; a time already past fires at once);
 * atMs < 0 disarms it.
 */
napi_value set_wall_timer(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value args[2];
  double at_ms = -1;
  napi_get_cb_info(env, info, &argc, args, NULL, NULL);
  if (argc >= 2) napi_get_value_double(env, args[1], &at_ms);
  struct itimerspec spec = {0};
  int flags = 0;
  if (at_ms >= 0) {
    long long ms = (long long)at_ms;
    spec.it_value.tv_sec = ms / 1000;
    spec.it_value.tv_nsec = (ms % 1000) * 1000000L;
    // an all-zero value disarms the timer: the epoch itself is one nanosecond after it
    if (!spec.it_value.tv_sec && !spec.it_value.tv_nsec) spec.it_value.tv_nsec = 1;
    flags = TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET;
  }
  return number(env, timerfd_settime(int_arg(env, args[0]), flags, &spec, NULL) < 0 ? -errno : 0);
}
