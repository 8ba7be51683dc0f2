// The socket of systemd's notification protocol (sd_notify): a datagram
// unix socket, which Node has no API for. SO_PASSCRED makes the kernel
// attach each sender's pid and uid, which a sender cannot forge, so the init
// can tell whose message it is. Read through relay.c's watchReadable.
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "addon.h"

/**
 * notifySocket(name) → a non-blocking, close-on-exec datagram socket bound
 * to `name`, or -errno. A name starting with '@' is in the abstract
 * namespace (no file, no permission on a directory needed: a service that
 * runs as another user reaches it too), as sd_notify reads NOTIFY_SOCKET.
 */
napi_value notify_socket(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value args[1];
  napi_get_cb_info(env, info, &argc, args, NULL, NULL);
  char *name = argc >= 1 ? string_arg(env, args[0]) : NULL;
  if (!name) return number(env, -EINVAL);
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  size_t len = strlen(name);
  if (len == 0 || len >= sizeof addr.sun_path) {
    free(name);
    return number(env, -ENAMETOOLONG);
  }
  memcpy(addr.sun_path, name, len);
  bool abstract = name[0] == '@';
  if (abstract) addr.sun_path[0] = '\0';
  free(name);
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return number(env, -errno);
  int on = 1;
  // an abstract name's length is the address length: no terminating NUL
  socklen_t addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (abstract ? 0 : 1));
  if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof on) < 0 || bind(fd, (struct sockaddr *)&addr, addr_len) < 0) {
    int err = errno;
    close(fd);
    return number(env, -err);
  }
  return number(env, fd);
}

/** The most descriptors one message brings that are handed back; the kernel closes any more (MSG_CTRUNC). */
#define MAX_FDS 16

/**
 * notifyReceive(fd, sender, buffer) → the datagram's whole length (more
 * than buffer.length: it was cut, the rest is gone), or -errno (EAGAIN:
 * none waiting). sender (an Int32Array of 3 + MAX_FDS) gets [pid, uid,
 * count, fds…] (pid 0: the kernel did not say, or the sender is outside
 * the init's pid namespace): the descriptors sent with it (sd_notify_barrier's
 * pipe, a file descriptor store), close-on-exec, for the caller to close
 * once it has read the message: closing a barrier's pipe lets its sender
 * go on, and exit, before the init could tell whose process it was.
 */
napi_value notify_receive(napi_env env, napi_callback_info info) {
  napi_value args[3];
  void *data;
  size_t length;
  if (!buffer_call(env, info, 3, args, &data, &length, "notifyReceive(fd, sender, buffer)")) return NULL;
  size_t count = 0;
  int32_t *sender = int32_array(env, args[1], &count);
  if (!sender) return NULL;
  if (count < 3 + MAX_FDS) {
    napi_throw_range_error(env, NULL, "notifyReceive: sender needs 3 + 16 slots");
    return NULL;
  }
  union {
    struct cmsghdr align;
    char space[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int) * MAX_FDS)];
  } control;
  struct iovec iov = {.iov_base = data, .iov_len = length};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.space, .msg_controllen = sizeof control.space};
  ssize_t got;
  // MSG_TRUNC: the datagram's real length, so a cut one is known
  while ((got = recvmsg(int_arg(env, args[0]), &msg, MSG_TRUNC | MSG_CMSG_CLOEXEC | MSG_DONTWAIT)) < 0 && errno == EINTR) {}
  if (got < 0) return number(env, -errno);
  sender[0] = sender[1] = sender[2] = 0;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET) continue;
    if (c->cmsg_type == SCM_CREDENTIALS && c->cmsg_len >= CMSG_LEN(sizeof(struct ucred))) {
      struct ucred cred;
      memcpy(&cred, CMSG_DATA(c), sizeof cred);
      sender[0] = cred.pid;
      sender[1] = (int32_t)cred.uid;
    } else if (c->cmsg_type == SCM_RIGHTS) {
      size_t fds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < fds; i++) {
        int fd;
        memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
        if (sender[2] < MAX_FDS) sender[3 + sender[2]++] = fd;
        else close(fd);
      }
    }
  }
  return number(env, (double)got);
}
