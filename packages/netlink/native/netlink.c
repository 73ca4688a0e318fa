/*
 * @minicni/netlink native addon: syscalls only. Everything a netlink message means lives in
 * TypeScript. The one hard rule here: a thread's network namespace is switched only inside a
 * single synchronous call and always switched back before returning (or the process aborts:
 * a thread left in the wrong netns would silently act on the wrong network).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <node_api.h>

#define MAX_PATH 4096

/* An Error with errno, code and syscall, as every failure of this addon carries. */
static napi_value errno_error(napi_env env, const char *syscall, int err) {
  char text[512];
  snprintf(text, sizeof text, "%s: %s", syscall, strerror(err));
  napi_value msg, error, value;
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, NULL, msg, &error);
  napi_create_int32(env, err, &value);
  napi_set_named_property(env, error, "errno", value);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &value);
  napi_set_named_property(env, error, "syscall", value);
  const char *name = strerrorname_np(err);
  if (name != NULL) {
    napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &value);
    napi_set_named_property(env, error, "code", value);
  }
  return error;
}

static napi_value throw_errno(napi_env env, const char *syscall, int err) {
  napi_throw(env, errno_error(env, syscall, err));
  return NULL;
}

static napi_value throw_type(napi_env env, const char *text) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", text);
  return NULL;
}

static int get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < want) {
    throw_type(env, "missing arguments");
    return -1;
  }
  return 0;
}

static int get_path(napi_env env, napi_value value, char *out) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, value, out, MAX_PATH, &len) != napi_ok) {
    throw_type(env, "expected a path string");
    return -1;
  }
  if (len == 0 || len >= MAX_PATH - 1) {
    throw_type(env, "path is empty or too long");
    return -1;
  }
  if (strlen(out) != len) {
    throw_type(env, "path contains a NUL byte");
    return -1;
  }
  return 0;
}

static int get_i32(napi_env env, napi_value value, int32_t *out) {
  if (napi_get_value_int32(env, value, out) != napi_ok) {
    throw_type(env, "expected an integer");
    return -1;
  }
  return 0;
}

static napi_value make_i32(napi_env env, int32_t v) {
  napi_value out;
  napi_create_int32(env, v, &out);
  return out;
}

/* Returns 1 when value is null or undefined. */
static int is_nullish(napi_env env, napi_value value) {
  napi_valuetype t;
  napi_typeof(env, value, &t);
  return t == napi_null || t == napi_undefined;
}

/*
 * Enters the netns at ns_path on this thread, remembering the current one in *orig_fd.
 * Returns 0, or -1 with errno set and nothing changed.
 */
static int enter_netns(const char *ns_path, int *orig_fd, const char **failed) {
  int ns_fd = open(ns_path, O_RDONLY | O_CLOEXEC);
  if (ns_fd < 0) {
    *failed = "open netns";
    return -1;
  }
  int orig = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (orig < 0) {
    int e = errno;
    close(ns_fd);
    errno = e;
    *failed = "open /proc/thread-self/ns/net";
    return -1;
  }
  if (setns(ns_fd, CLONE_NEWNET) != 0) {
    int e = errno;
    close(ns_fd);
    close(orig);
    errno = e;
    *failed = "setns";
    return -1;
  }
  close(ns_fd);
  *orig_fd = orig;
  return 0;
}

/* Returns to the netns saved by enter_netns. Failing here leaves the thread in the wrong netns. */
static void leave_netns(int orig_fd) {
  int e = errno;
  if (setns(orig_fd, CLONE_NEWNET) != 0) {
    fprintf(stderr, "@minicni/netlink: cannot restore the thread's network namespace (%s); aborting\n",
            strerror(errno));
    abort();
  }
  close(orig_fd);
  errno = e;
}

/* socket(nsPath: string | null, protocol: number, recvTimeoutMs: number): fd */
static napi_value js_socket(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (get_args(env, info, 3, argv) < 0) return NULL;
  char ns_path[MAX_PATH];
  int has_ns = !is_nullish(env, argv[0]);
  if (has_ns && get_path(env, argv[0], ns_path) < 0) return NULL;
  int32_t protocol, timeout_ms;
  if (get_i32(env, argv[1], &protocol) < 0 || get_i32(env, argv[2], &timeout_ms) < 0) return NULL;

  int orig_fd = -1;
  const char *failed = NULL;
  if (has_ns && enter_netns(ns_path, &orig_fd, &failed) < 0) return throw_errno(env, failed, errno);
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
  if (has_ns) leave_netns(orig_fd);
  if (fd < 0) return throw_errno(env, "socket", errno);

  if (timeout_ms > 0) {
    struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0) {
      int e = errno;
      close(fd);
      return throw_errno(env, "setsockopt SO_RCVTIMEO", e);
    }
  }
  struct sockaddr_nl local = {.nl_family = AF_NETLINK};
  if (bind(fd, (struct sockaddr *)&local, sizeof local) != 0) {
    int e = errno;
    close(fd);
    return throw_errno(env, "bind", e);
  }
  return make_i32(env, fd);
}

/* setsockoptInt(fd, level, name, value): undefined */
static napi_value js_setsockopt_int(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (get_args(env, info, 4, argv) < 0) return NULL;
  int32_t fd, level, name, value;
  if (get_i32(env, argv[0], &fd) < 0 || get_i32(env, argv[1], &level) < 0 || get_i32(env, argv[2], &name) < 0 ||
      get_i32(env, argv[3], &value) < 0)
    return NULL;
  if (setsockopt(fd, level, name, &value, sizeof value) != 0) return throw_errno(env, "setsockopt", errno);
  return NULL;
}

/*
 * send and recv run on the libuv threadpool, never on the JavaScript thread: rtnetlink does the
 * requested work inside sendto() (deleting a veth waits there for RCU grace periods, tens of ms),
 * and recvmsg() both waits for a reply (up to SO_RCVTIMEO) and produces the next part of a dump.
 * No namespace switch happens here: a netlink socket acts in the netns it was created in,
 * whichever thread uses it. The caller keeps the fd open until the returned promise settles
 * (closing it earlier would let a reused fd number reach another socket).
 */
struct io_job {
  napi_async_work work;
  napi_deferred deferred;
  int fd;
  int is_send;
  int gather; /* exchange: send, then receive the reply's first datagrams in the same trip */
  void *data; /* send: a copy of the request; recv: the datagram received */
  size_t len;
  int err;
  const char *failed;
};

static void io_send(struct io_job *job) {
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  ssize_t n;
  do {
    n = sendto(job->fd, job->data, job->len, 0, (struct sockaddr *)&kernel, sizeof kernel);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    job->err = errno;
    job->failed = "send";
    return;
  }
  job->len = (size_t)n;
}

/* Appends one whole datagram (sized by a peek first, so nothing is truncated) to the job's
 * buffer at a 4-byte boundary; returns 0, or an errno (EAGAIN: nothing queued, with `flags`
 * holding MSG_DONTWAIT). */
static int recv_one(struct io_job *job, int flags) {
  ssize_t size;
  do {
    size = recv(job->fd, NULL, 0, MSG_PEEK | MSG_TRUNC | flags);
  } while (size < 0 && errno == EINTR);
  if (size < 0) return errno;
  size_t at = (job->len + 3) & ~(size_t)3;
  void *grown = realloc(job->data, at + (size > 0 ? (size_t)size : 1));
  if (grown == NULL) return ENOMEM;
  job->data = grown;
  memset((char *)job->data + job->len, 0, at - job->len);
  ssize_t n;
  do {
    n = recv(job->fd, (char *)job->data + at, (size_t)size, flags);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return errno;
  if (n != size) return EMSGSIZE;
  job->len = at + (size_t)n;
  return 0;
}

/* Whether the last message in buf[from..len) is a part of a multipart reply (a dump) that has
 * more parts to come: NLM_F_MULTI set and not the closing NLMSG_DONE. */
static int more_parts(const char *buf, size_t from, size_t len) {
  const struct nlmsghdr *last = NULL;
  for (size_t at = from; at + sizeof(struct nlmsghdr) <= len;) {
    const struct nlmsghdr *h = (const struct nlmsghdr *)(buf + at);
    if (h->nlmsg_len < sizeof(struct nlmsghdr)) break;
    last = h;
    at += NLMSG_ALIGN(h->nlmsg_len);
  }
  return last != NULL && (last->nlmsg_flags & NLM_F_MULTI) && last->nlmsg_type != NLMSG_DONE &&
         last->nlmsg_type != NLMSG_ERROR;
}

/* Most datagrams a receive gathers (a dump's parts are ~16-32 KiB each). */
#define RECV_GATHER_MAX 64

/*
 * One datagram, waiting for it (up to SO_RCVTIMEO); then, while the reply is a dump with more
 * parts already queued, those too, without waiting: the kernel makes a dump's next part while
 * the previous one is read, so gathering them in one threadpool trip keeps a dump as quick as a
 * synchronous loop, and a dump that churning tables interrupt finishes before they do again.
 */
static void io_recv(struct io_job *job) {
  int err = recv_one(job, 0);
  if (err != 0) {
    job->err = err;
    job->failed = "recv";
    return;
  }
  size_t from = 0;
  for (int i = 1; i < RECV_GATHER_MAX && more_parts(job->data, from, job->len); i++) {
    size_t before = job->len;
    err = recv_one(job, MSG_DONTWAIT);
    if (err == EAGAIN || err == EWOULDBLOCK) break;
    if (err != 0) {
      job->err = err;
      job->failed = "recv";
      return;
    }
    from = (before + 3) & ~(size_t)3;
  }
}

/* Threadpool side: syscalls only, no N-API. */
static void io_execute(napi_env env, void *arg) {
  (void)env;
  struct io_job *job = arg;
  if (job->is_send) {
    io_send(job);
    if (job->gather && job->err == 0) {
      /* The reply (or a dump's first part) is queued when sendto returns: read it now, with no
       * trip back to JavaScript in between for a concurrent change to interrupt a dump in. */
      free(job->data);
      job->data = NULL;
      job->len = 0;
      io_recv(job);
    }
  } else {
    io_recv(job);
  }
}

/* JavaScript thread: settle the promise and free the job. */
static void io_complete(napi_env env, napi_status status, void *arg) {
  struct io_job *job = arg;
  napi_value out;
  if (status != napi_ok) {
    napi_reject_deferred(env, job->deferred, errno_error(env, job->is_send ? "send" : "recv", ECANCELED));
  } else if (job->err != 0) {
    napi_reject_deferred(env, job->deferred, errno_error(env, job->failed, job->err));
  } else if (job->is_send && !job->gather) {
    napi_create_int32(env, (int32_t)job->len, &out);
    napi_resolve_deferred(env, job->deferred, out);
  } else {
    void *copy;
    if (napi_create_buffer_copy(env, job->len, job->data, &copy, &out) == napi_ok)
      napi_resolve_deferred(env, job->deferred, out);
    else
      napi_reject_deferred(env, job->deferred, errno_error(env, "recv", ENOMEM));
  }
  napi_delete_async_work(env, job->work);
  free(job->data);
  free(job);
}

/* Queues a job on the threadpool; returns its promise (NULL with an exception pending on failure). */
static napi_value io_queue(napi_env env, struct io_job *job) {
  napi_value promise, name;
  if (napi_create_promise(env, &job->deferred, &promise) != napi_ok) goto fail;
  napi_create_string_utf8(env, job->is_send ? "netlink.send" : "netlink.recv", NAPI_AUTO_LENGTH, &name);
  if (napi_create_async_work(env, NULL, name, io_execute, io_complete, job, &job->work) != napi_ok) goto fail;
  if (napi_queue_async_work(env, job->work) != napi_ok) {
    napi_delete_async_work(env, job->work);
    goto fail;
  }
  return promise;
fail:
  /* A created promise that is never settled is only garbage; the throw tells the caller. */
  free(job->data);
  free(job);
  return throw_errno(env, "napi_queue_async_work", ENOMEM);
}

/* Queues a send of `bytes`; with `gather`, the job also receives the first reply datagrams. */
static napi_value queue_send(napi_env env, napi_callback_info info, int gather) {
  napi_value argv[2];
  if (get_args(env, info, 2, argv) < 0) return NULL;
  int32_t fd;
  if (get_i32(env, argv[0], &fd) < 0) return NULL;
  void *data;
  size_t len;
  napi_typedarray_type type;
  napi_value ab;
  size_t offset;
  if (napi_get_typedarray_info(env, argv[1], &type, &len, &data, &ab, &offset) != napi_ok || type != napi_uint8_array)
    return throw_type(env, "expected a Uint8Array");
  struct io_job *job = calloc(1, sizeof *job);
  if (job == NULL) return throw_errno(env, "send", ENOMEM);
  /* A copy: the JavaScript bytes may move or change while the threadpool sends. */
  job->data = malloc(len > 0 ? len : 1);
  if (job->data == NULL) {
    free(job);
    return throw_errno(env, "send", ENOMEM);
  }
  memcpy(job->data, data, len);
  job->len = len;
  job->fd = fd;
  job->is_send = 1;
  job->gather = gather;
  return io_queue(env, job);
}

/* send(fd, bytes: Uint8Array): Promise<number of bytes sent> */
static napi_value js_send(napi_env env, napi_callback_info info) { return queue_send(env, info, 0); }

/* exchange(fd, bytes: Uint8Array): Promise<Buffer: the reply's first datagrams, as recv gives them> */
static napi_value js_exchange(napi_env env, napi_callback_info info) { return queue_send(env, info, 1); }

/* recv(fd): Promise<Buffer holding one datagram, or a dump's parts already queued after it> */
static napi_value js_recv(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (get_args(env, info, 1, argv) < 0) return NULL;
  int32_t fd;
  if (get_i32(env, argv[0], &fd) < 0) return NULL;
  struct io_job *job = calloc(1, sizeof *job);
  if (job == NULL) return throw_errno(env, "recv", ENOMEM);
  job->fd = fd;
  return io_queue(env, job);
}

/* close(fd): undefined */
static napi_value js_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (get_args(env, info, 1, argv) < 0) return NULL;
  int32_t fd;
  if (get_i32(env, argv[0], &fd) < 0) return NULL;
  if (close(fd) != 0 && errno != EINTR) return throw_errno(env, "close", errno);
  return NULL;
}

/* openInNetns(nsPath, filePath, flags, mode): fd of filePath opened from inside the netns */
static napi_value js_open_in_netns(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (get_args(env, info, 4, argv) < 0) return NULL;
  char ns_path[MAX_PATH], file_path[MAX_PATH];
  int32_t flags, mode;
  if (get_path(env, argv[0], ns_path) < 0 || get_path(env, argv[1], file_path) < 0 ||
      get_i32(env, argv[2], &flags) < 0 || get_i32(env, argv[3], &mode) < 0)
    return NULL;
  int orig_fd = -1;
  const char *failed = NULL;
  if (enter_netns(ns_path, &orig_fd, &failed) < 0) return throw_errno(env, failed, errno);
  int fd = open(file_path, flags | O_CLOEXEC, (mode_t)mode);
  leave_netns(orig_fd);
  if (fd < 0) return throw_errno(env, "open", errno);
  return make_i32(env, fd);
}

struct unshare_job {
  const char *target;
  int err;
  const char *failed;
};

/*
 * Runs on a thread of its own: unshare(CLONE_NEWNET) moves only this thread into a new netns,
 * which the bind mount then keeps alive after the thread exits. The caller's thread never moves.
 */
static void *unshare_and_bind(void *arg) {
  struct unshare_job *job = arg;
  if (unshare(CLONE_NEWNET) != 0) {
    job->err = errno;
    job->failed = "unshare";
    return NULL;
  }
  if (mount("/proc/thread-self/ns/net", job->target, "none", MS_BIND, NULL) != 0) {
    job->err = errno;
    job->failed = "mount --bind";
  }
  return NULL;
}

/* Makes dir a shared mount point (bind-mounting it on itself first if it is not one), as ip netns does. */
static int make_shared_dir(const char *dir, const char **failed) {
  if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
    *failed = "mkdir";
    return -1;
  }
  int bound = 0;
  while (mount("", dir, "none", MS_SHARED | MS_REC, NULL) != 0) {
    if (errno != EINVAL || bound) {
      *failed = "mount --make-rshared";
      return -1;
    }
    if (mount(dir, dir, "none", MS_BIND | MS_REC, NULL) != 0) {
      *failed = "mount --rbind";
      return -1;
    }
    bound = 1;
  }
  return 0;
}

/* netnsCreate(dir, path): creates a named netns at path (a file in dir), like `ip netns add` */
static napi_value js_netns_create(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (get_args(env, info, 2, argv) < 0) return NULL;
  char dir[MAX_PATH], path[MAX_PATH];
  if (get_path(env, argv[0], dir) < 0 || get_path(env, argv[1], path) < 0) return NULL;
  const char *failed = NULL;
  if (make_shared_dir(dir, &failed) < 0) return throw_errno(env, failed, errno);
  int fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "create netns file", errno);
  close(fd);
  struct unshare_job job = {.target = path, .err = 0, .failed = NULL};
  pthread_t thread;
  int e = pthread_create(&thread, NULL, unshare_and_bind, &job);
  if (e != 0) {
    unlink(path);
    return throw_errno(env, "pthread_create", e);
  }
  pthread_join(thread, NULL);
  if (job.err != 0) {
    unlink(path);
    return throw_errno(env, job.failed, job.err);
  }
  return NULL;
}

/* netnsDelete(path): unmounts and removes a named netns, like `ip netns del` */
static napi_value js_netns_delete(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (get_args(env, info, 1, argv) < 0) return NULL;
  char path[MAX_PATH];
  if (get_path(env, argv[0], path) < 0) return NULL;
  if (umount2(path, MNT_DETACH) != 0 && errno != EINVAL) return throw_errno(env, "umount", errno);
  if (unlink(path) != 0) return throw_errno(env, "unlink", errno);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"socket", NULL, js_socket, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setsockoptInt", NULL, js_setsockopt_int, NULL, NULL, NULL, napi_enumerable, NULL},
      {"send", NULL, js_send, NULL, NULL, NULL, napi_enumerable, NULL},
      {"recv", NULL, js_recv, NULL, NULL, NULL, napi_enumerable, NULL},
      {"exchange", NULL, js_exchange, NULL, NULL, NULL, napi_enumerable, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_enumerable, NULL},
      {"openInNetns", NULL, js_open_in_netns, NULL, NULL, NULL, napi_enumerable, NULL},
      {"netnsCreate", NULL, js_netns_create, NULL, NULL, NULL, napi_enumerable, NULL},
      {"netnsDelete", NULL, js_netns_delete, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
