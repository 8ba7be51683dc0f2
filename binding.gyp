{
  "targets": [
    {
      "target_name": "berth_pid1",
      "sources": [
        "src/native/addon.c",
        "src/native/args.c",
        "src/native/spawn.c",
        "src/native/reap.c",
        "src/native/fds.c",
        "src/native/relay.c",
        "src/native/writer.c",
        "src/native/early-stop.c",
        "src/native/wall-timer.c",
        "src/native/notify-socket.c",
        "src/native/files.c",
        "src/native/v8-memory.cc"
      ],
      "defines": ["_GNU_SOURCE"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Werror", "-fvisibility=hidden"]
    }
  ]
}
