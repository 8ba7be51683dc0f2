// Berth's Node-API addon: the PID-1 calls Node has no API for, done where a
// trip through JS would cost too much or leave a window open. This file only
// registers them; each job has its own: spawn.c (starting a service),
// reap.c (its exit, and orphans'), fds.c (descriptors), relay.c (the log
// relay's I/O), writer.c (its writer thread), early-stop.c (a stop before
// the supervisor listens), wall-timer.c (the jobs' timer on the wall clock), notify-socket.c
// (sd_notify's socket), files.c (small files read and written whole),
// v8-memory.cc (a GC),
// args.c (arguments).
#include "addon.h"

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"waitNoHang", NULL, wait_no_hang, NULL, NULL, NULL, napi_default, NULL},
    {"reapAll", NULL, reap_all, NULL, NULL, NULL, napi_default, NULL},
    {"peekExited", NULL, peek_exited, NULL, NULL, NULL, napi_default, NULL},
    {"flock", NULL, flock_fd, NULL, NULL, NULL, napi_default, NULL},
    {"becomeSubreaper", NULL, become_subreaper, NULL, NULL, NULL, napi_default, NULL},
    {"pipe", NULL, make_pipe, NULL, NULL, NULL, napi_default, NULL},
    {"setPipeSize", NULL, set_pipe_size, NULL, NULL, NULL, napi_default, NULL},
    {"reserveFds", NULL, reserve_fds, NULL, NULL, NULL, napi_default, NULL},
    {"cloexecInherited", NULL, cloexec_inherited, NULL, NULL, NULL, napi_default, NULL},
    {"prefixInto", NULL, prefix_into, NULL, NULL, NULL, napi_default, NULL},
    {"watchReadable", NULL, watch_readable, NULL, NULL, NULL, napi_default, NULL},
    {"pauseWatch", NULL, pause_watch, NULL, NULL, NULL, napi_default, NULL},
    {"closeWatch", NULL, close_watch, NULL, NULL, NULL, napi_default, NULL},
    {"readInto", NULL, read_into, NULL, NULL, NULL, napi_default, NULL},
    {"readVia", NULL, read_via, NULL, NULL, NULL, napi_default, NULL},
    {"spliceLines", NULL, splice_lines, NULL, NULL, NULL, napi_default, NULL},
    {"jsonInto", NULL, json_into, NULL, NULL, NULL, napi_default, NULL},
    {"fdWriter", NULL, fd_writer, NULL, NULL, NULL, napi_default, NULL},
    {"fdWrite", NULL, fd_write, NULL, NULL, NULL, napi_default, NULL},
    {"collectStartupGarbage", NULL, collect_startup_garbage, NULL, NULL, NULL, napi_default, NULL},
    {"spawn", NULL, spawn, NULL, NULL, NULL, napi_default, NULL},
    {"signalIfStarted", NULL, signal_if_started, NULL, NULL, NULL, napi_default, NULL},
    {"exitOnStop", NULL, exit_on_stop, NULL, NULL, NULL, napi_default, NULL},
    {"wallTimer", NULL, wall_timer, NULL, NULL, NULL, napi_default, NULL},
    {"setWallTimer", NULL, set_wall_timer, NULL, NULL, NULL, napi_default, NULL},
    {"notifySocket", NULL, notify_socket, NULL, NULL, NULL, napi_default, NULL},
    {"notifyReceive", NULL, notify_receive, NULL, NULL, NULL, napi_default, NULL},
    {"readRegularFile", NULL, read_regular_file, NULL, NULL, NULL, napi_default, NULL},
    {"writeFileAtomically", NULL, write_file_atomically, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
