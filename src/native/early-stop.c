// Until the supervisor listens, a SIGTERM or SIGINT ends the init at once.
// Its JS handler could run only between turns of the event loop, and
// reading a 20,000-service manifest (or a state dir on a stuck filesystem)
// holds the loop for seconds; as PID 1 the kernel would drop the signal
// without a handler at all. Nothing runs yet, so there is nothing to stop:
// a line on stderr and _exit(0). Node's later process.on() replaces this
// handler with libuv's.
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "addon.h"

static char term_line[256];
static char int_line[256];

static void stop_now(int sig) {
  const char *line = sig == SIGINT ? int_line : term_line;
  ssize_t unused = write(2, line, strlen(line));
  (void)unused;
  _exit(0);
}

// exitOnStop(prefix, suffix): the line is prefix + "SIGTERM" or "SIGINT" + suffix.
napi_value exit_on_stop(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value args[2];
  napi_get_cb_info(env, info, &argc, args, NULL, NULL);
  char *prefix = argc == 2 ? string_arg(env, args[0]) : NULL;
  char *suffix = argc == 2 ? string_arg(env, args[1]) : NULL;
  if (!prefix || !suffix) {
    free(prefix);
    free(suffix);
    napi_throw_type_error(env, NULL, "exitOnStop: a prefix and a suffix expected");
    return NULL;
  }
  snprintf(term_line, sizeof term_line, "%sSIGTERM%s", prefix, suffix);
  snprintf(int_line, sizeof int_line, "%sSIGINT%s", prefix, suffix);
  free(prefix);
  free(suffix);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = stop_now;
  sigemptyset(&sa.sa_mask);
  int err = 0;
  if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0) err = -errno;
  return number(env, err);
}
