// The fast path's shim (@minicni/fastpath): the executable a runtime runs as /opt/cni/bin/X for a
// plugin X that a long-running process serves. It forwards one CNI call (the CNI_* environment and
// the config on stdin) over a root-only unix socket to that process, and relays the answer
// (stdout, stderr, exit status). A Node start costs ~40 ms; this costs ~1 ms. It knows nothing of
// any one plugin: X is the name of the file it runs as.
//
// The socket is MINICNI_AGENT_SOCKET, else the config's "agentSocket" field, else /run/X/plugin.sock.
// Fallback rules:
// - Nothing listens (no server on this node, or it is restarting), or the server speaks another
//   protocol version (it ran nothing and said so): exec X-standalone from the same directory
//   (MINICNI_STANDALONE names another file) with the same argv, environment and stdin, so a node
//   never depends on the server being up, and shim and server can be upgraded one at a time.
// - The server accepted the call but the connection broke before the answer: the outcome is
//   unknown, so it answers CNI error 11 (try again later) and the runtime retries, as it does for
//   any failed ADD (DEL first, then ADD again).
// - The socket is served by another user, or answers something that is not a reply: CNI error 999.
//
// Wire format (integers unsigned big-endian; the 6-byte header is the same in every version):
//   header:   "MCNI", u16 protocol version (2)
//   request:  header, u32 env bytes, env ("KEY=VALUE\0" for each CNI_* variable),
//             u32 stdin bytes, stdin
//   response: header, u32 exit status, u32 stdout bytes, stdout, u32 stderr bytes, stderr
//   A server that does not speak the request's version answers its own header alone and closes.
// The server must run as the shim's own user (SO_PEERCRED), else the call is refused.
// The server's side is packages/fastpath/src/server.ts and wire.ts.
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define MAGIC "MCNI"
#define PROTOCOL_VERSION 2
#define HEADER_LEN 6
#define STANDALONE_SUFFIX "-standalone"
#define MAX_STDIN (16u << 20)
#define MAX_REPLY (64u << 20)

extern char **environ;

struct buf {
  char *data;
  size_t len, cap;
};

static void die_oom(void) {
  static const char msg[] = "minicni-shim: out of memory\n";
  (void)!write(2, msg, sizeof msg - 1);
  _exit(1);
}

static void buf_put(struct buf *b, const void *p, size_t n) {
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n) cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d) die_oom();
    b->data = d;
    b->cap = cap;
  }
  memcpy(b->data + b->len, p, n);
  b->len += n;
}

static void buf_u32(struct buf *b, uint32_t v) {
  unsigned char x[4] = {v >> 24, v >> 16, v >> 8, v};
  buf_put(b, x, 4);
}

// A top-level-looking string field of the config ("key": "value"), copied to out when it is a
// plain string (no escapes, no control characters) shorter than outlen; 0 when absent or not plain.
static int string_field(const struct buf *in, const char *key, char *out, size_t outlen) {
  char quoted[64];
  int klen = snprintf(quoted, sizeof quoted, "\"%s\"", key);
  const char *end = in->data + in->len;
  for (const char *p = in->data; p && p < end; p++) {
    p = memmem(p, (size_t)(end - p), quoted, (size_t)klen);
    if (!p) return 0;
    const char *q = p + klen;
    while (q < end && (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')) q++;
    if (q >= end || *q != ':') continue;
    q++;
    while (q < end && (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')) q++;
    if (q >= end || *q != '"') continue;
    const char *v = ++q;
    while (q < end && *q != '"') {
      if (*q == '\\' || (unsigned char)*q < 0x20) return 0;
      q++;
    }
    if (q >= end || q == v || (size_t)(q - v) >= outlen) return 0;
    memcpy(out, v, (size_t)(q - v));
    out[q - v] = 0;
    return 1;
  }
  return 0;
}

// The config's cniVersion, for an error reply (CNI errors carry one); "1.1.0" when unreadable.
static void cni_version(const struct buf *in, char *out, size_t outlen) {
  if (string_field(in, "cniVersion", out, outlen) && strspn(out, "0123456789.") == strlen(out)) return;
  snprintf(out, outlen, "1.1.0");
}

static int write_all(int fd, const char *p, size_t n) {
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static void put_json_string(const char *s) {
  putchar('"');
  for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
    if (*c == '"' || *c == '\\') printf("\\%c", *c);
    else if (*c < 0x20) printf("\\u%04x", *c);
    else putchar(*c);
  }
  putchar('"');
}

static void fail(const struct buf *in, int code, const char *msg, const char *details) {
  char ver[24];
  cni_version(in, ver, sizeof ver);
  printf("{\"cniVersion\":\"%s\",\"code\":%d,\"msg\":", ver, code);
  put_json_string(msg);
  printf(",\"details\":");
  put_json_string(details);
  printf("}\n");
  fflush(stdout);
  exit(1);
}

// This executable's own path (symlinks resolved): X-standalone sits beside it, /run/X is X's.
static void self_path(const struct buf *in, char *path, size_t len) {
  ssize_t n = readlink("/proc/self/exe", path, len - sizeof STANDALONE_SUFFIX);
  if (n <= 0) fail(in, 999, "minicni-shim: cannot find its own path", strerror(errno));
  path[n] = 0;
}

// Run the standalone plugin in our place: same argv[1..], environment and stdin.
static void exec_standalone(char **argv, const struct buf *in, const char *why) {
  char path[4096];
  const char *env = getenv("MINICNI_STANDALONE");
  if (env && *env) {
    snprintf(path, sizeof path, "%s", env);
  } else {
    self_path(in, path, sizeof path);
    strcat(path, STANDALONE_SUFFIX);
  }
  // The config was read already: hand it over in a memory file rewound to its start.
  int mfd = memfd_create("minicni-stdin", MFD_CLOEXEC);
  if (mfd < 0 || write_all(mfd, in->data, in->len) < 0 || lseek(mfd, 0, SEEK_SET) < 0 || dup2(mfd, 0) < 0)
    fail(in, 999, "minicni-shim: cannot pass the config on", strerror(errno));
  close(mfd);
  argv[0] = path;
  execv(path, argv);
  char details[4600];
  snprintf(details, sizeof details, "server: %s; standalone plugin %s: %s", why, path, strerror(errno));
  fail(in, 999, "minicni-shim: neither the plugin server nor the standalone plugin can be run", details);
}

static int read_exact(int fd, void *p, size_t n) {
  char *c = p;
  while (n) {
    ssize_t r = read(fd, c, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    c += r;
    n -= (size_t)r;
  }
  return 0;
}

static uint32_t get_u32(const unsigned char *x) {
  return (uint32_t)x[0] << 24 | (uint32_t)x[1] << 16 | (uint32_t)x[2] << 8 | x[3];
}

int main(int argc, char **argv) {
  (void)argc;
  struct buf in = {0};
  char chunk[65536];
  for (;;) {
    ssize_t r = read(0, chunk, sizeof chunk);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) fail(&in, 999, "minicni-shim: cannot read stdin", strerror(errno));
    if (r == 0) break;
    if (in.len + (size_t)r > MAX_STDIN) fail(&in, 7, "minicni-shim: config on stdin is over 16 MiB", "");
    buf_put(&in, chunk, (size_t)r);
  }

  // The socket: MINICNI_AGENT_SOCKET, else the config's "agentSocket" (which reaches every call,
  // whatever environment the runtime's process has), else /run/X/plugin.sock.
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  const char *sock = getenv("MINICNI_AGENT_SOCKET");
  if (sock && *sock) {
    if (strlen(sock) >= sizeof addr.sun_path) exec_standalone(argv, &in, "socket path too long");
    strcpy(addr.sun_path, sock);
  } else if (!string_field(&in, "agentSocket", addr.sun_path, sizeof addr.sun_path)) {
    char self[4096];
    self_path(&in, self, sizeof self);
    const char *name = strrchr(self, '/') + 1;
    if ((size_t)snprintf(addr.sun_path, sizeof addr.sun_path, "/run/%s/plugin.sock", name) >= sizeof addr.sun_path)
      exec_standalone(argv, &in, "default socket path too long");
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) exec_standalone(argv, &in, strerror(errno));
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
    char why[200];
    snprintf(why, sizeof why, "%.120s: %s", addr.sun_path, strerror(errno));
    exec_standalone(argv, &in, why);
  }
  // Only a server running as this very user gets the call: a socket someone else created at a
  // path a config names (a careless /tmp path, say) must not receive configs or forge results.
  struct ucred cred;
  socklen_t credlen = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &credlen) < 0)
    fail(&in, 999, "minicni-shim: cannot read the plugin socket's peer credentials", strerror(errno));
  if (cred.uid != geteuid()) {
    char details[200];
    snprintf(details, sizeof details, "%.120s is served by uid %u", addr.sun_path, (unsigned)cred.uid);
    fail(&in, 999, "minicni-shim: refusing a plugin socket served by another user", details);
  }

  struct buf req = {0}, env = {0};
  for (char **e = environ; *e; e++) {
    if (strncmp(*e, "CNI_", 4) == 0) buf_put(&env, *e, strlen(*e) + 1);
  }
  unsigned char header[HEADER_LEN] = {'M', 'C', 'N', 'I', PROTOCOL_VERSION >> 8, PROTOCOL_VERSION & 0xff};
  buf_put(&req, header, HEADER_LEN);
  buf_u32(&req, (uint32_t)env.len);
  if (env.len) buf_put(&req, env.data, env.len);
  buf_u32(&req, (uint32_t)in.len);
  if (in.len) buf_put(&req, in.data, in.len);
  // A write error means the server went away: the answer is read (or found missing) below.
  (void)write_all(fd, req.data, req.len);
  shutdown(fd, SHUT_WR);

  unsigned char head[HEADER_LEN + 8];
  const char *broke = "the plugin server closed the connection before answering (restarting?); try again";
  if (read_exact(fd, head, HEADER_LEN) < 0) fail(&in, 11, broke, "no reply header");
  if (memcmp(head, MAGIC, 4) != 0)
    fail(&in, 999, "minicni-shim: the plugin socket answered something that is not a minicni reply", addr.sun_path);
  unsigned version = (unsigned)head[4] << 8 | head[5];
  if (version != PROTOCOL_VERSION) {
    // The server ran nothing: the standalone plugin answers this call instead.
    char why[120];
    snprintf(why, sizeof why, "it speaks protocol %u, this shim %u", version, PROTOCOL_VERSION);
    close(fd);
    exec_standalone(argv, &in, why);
  }
  if (read_exact(fd, head + HEADER_LEN, 8) < 0) fail(&in, 11, broke, "no reply header");
  uint32_t status = get_u32(head + HEADER_LEN), outlen = get_u32(head + HEADER_LEN + 4);
  if (outlen > MAX_REPLY) fail(&in, 11, broke, "reply too large");
  char *out = malloc(outlen + 1);
  if (!out) die_oom();
  if (read_exact(fd, out, outlen) < 0) fail(&in, 11, broke, "short stdout");
  unsigned char elen[4];
  if (read_exact(fd, elen, 4) < 0) fail(&in, 11, broke, "no stderr length");
  uint32_t errlen = get_u32(elen);
  if (errlen > MAX_REPLY) fail(&in, 11, broke, "reply too large");
  char *err = malloc(errlen + 1);
  if (!err) die_oom();
  if (read_exact(fd, err, errlen) < 0) fail(&in, 11, broke, "short stderr");
  close(fd);
  if (write_all(1, out, outlen) < 0 || write_all(2, err, errlen) < 0) return 1;
  return status > 255 ? 1 : (int)status;
}
