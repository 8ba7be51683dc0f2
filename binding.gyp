{
  "targets": [
    {
      "target_name": "berth_pid1",
      "sources": ["src/native/pid1.c", "src/native/v8-memory.cc"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Werror"]
    }
  ]
}
