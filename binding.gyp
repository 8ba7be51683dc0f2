{
  "targets": [
    {
      "target_name": "berth_pid1",
      "sources": ["src/pid1/native/pid1.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Werror"]
    }
  ]
}
