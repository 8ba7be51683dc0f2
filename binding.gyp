{
  "targets": [
    {
      "target_name": "berth_pid1",
      "sources": ["src/pid1/native/pid1.c", "src/pid1/native/v8-memory.cc"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Werror"]
    }
  ]
}
