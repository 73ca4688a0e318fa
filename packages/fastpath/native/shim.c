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
// - The server is of another build (both stamped, ids differ): it ran nothing and said so; the
//   standalone plugin answers.
//
// On demand (a node without the agent): when the config says "onDemand": true (or
// MINICNI_ON_DEMAND=1) and nobody listens on the socket, the shim tries ondemand.sock in the same
// directory, and when nobody listens there either it starts `X-standalone serve --socket
// <dir>/ondemand.sock --idle-exit N --pid-file <dir>/ondemand.pid [--build-id ID]` itself:
// detached (its own session), stdio to <dir>/ondemand.log, only PATH in its environment, under
// an flock on <dir>/ondemand.lock so concurrent first calls start one server. It waits for the
// socket (5 s at most, less if the server exits) and sends the call; any failure on the way is
// the standalone fallback as before. N is "onDemandIdleSeconds" (MINICNI_ON_DEMAND_IDLE), 60 by
// default. The directory must be this user's and writable by nobody else (it is made 0700).
//
// Wire format (integers unsigned big-endian; the 6-byte header is the same in every version):
//   header:   "MCNI", u16 protocol version (3)
//   request:  header, u16 build id bytes, build id, u32 env bytes, env ("KEY=VALUE\0" for each
//             CNI_* variable), u32 stdin bytes, stdin
//   response: header, u32 exit status, u32 stdout bytes, stdout, u32 stderr bytes, stderr
//   refusal:  header, u32 0xffffffff, u32 build id bytes, the server's build id (nothing ran)
//   A server that does not speak the request's version answers its own header alone and closes.
// The server must run as the shim's own user (SO_PEERCRED), else the call is refused.
// The server's side is packages/fastpath/src/server.ts and wire.ts.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAGIC "MCNI"
#define PROTOCOL_VERSION 3
#define BUILD_MISMATCH 0xffffffffu
#define BUILD_ID_MAX 64
#define BUILD_ID_MARK "MINICNI-BUILD-ID:"
#define ON_DEMAND_IDLE_DEFAULT 60
#define ON_DEMAND_IDLE_MAX 86400
#define ON_DEMAND_START_MS 5000
#define ON_DEMAND_LOG_MAX (1 << 20)
#define HEADER_LEN 6
#define STANDALONE_SUFFIX "-standalone"
#define MAX_STDIN (16u << 20)
#define MAX_REPLY (64u << 20)

extern char **environ;

// This build's id, filled in the binary by the plugin's build (@minicni/fastpath stampShimBuildId:
// the bytes after the mark, NUL-padded); empty when nobody stamped it. Volatile: read from the
// binary at run time, never folded by the compiler.
__attribute__((used)) static volatile const char build_slot[sizeof BUILD_ID_MARK - 1 + BUILD_ID_MAX + 1] = BUILD_ID_MARK;

static void build_id(char out[BUILD_ID_MAX + 1]) {
  size_t i = 0;
  for (; i < BUILD_ID_MAX; i++) {
    char c = build_slot[sizeof BUILD_ID_MARK - 1 + i];
    if (!c) break;
    out[i] = c;
  }
  out[i] = 0;
}

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

static int is_blank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// The value after the next top-level-looking `"key":` in the config at or after *from (blanks
// skipped; it may be the end of the config), NULL when there is none; *from moves past that key,
// so the next call finds the one after it.
static const char *next_value(const struct buf *in, const char *key, const char **from) {
  char quoted[64];
  int klen = snprintf(quoted, sizeof quoted, "\"%s\"", key);
  const char *end = in->data + in->len;
  for (const char *p = *from; p && p < end; p++) {
    p = memmem(p, (size_t)(end - p), quoted, (size_t)klen);
    if (!p) return NULL;
    const char *q = p + klen;
    while (q < end && is_blank(*q)) q++;
    if (q >= end || *q != ':') continue;
    q++;
    while (q < end && is_blank(*q)) q++;
    *from = p + 1;
    return q;
  }
  return NULL;
}

// The bytes v..q copied to out as a string when there are some and fewer than outlen; 0 if not.
static int copy_value(const char *v, const char *q, char *out, size_t outlen) {
  if (q == v || (size_t)(q - v) >= outlen) return 0;
  memcpy(out, v, (size_t)(q - v));
  out[q - v] = 0;
  return 1;
}

// A top-level-looking string field of the config ("key": "value"), copied to out when it is a
// plain string (no escapes, no control characters) shorter than outlen; 0 when absent or not plain.
static int string_field(const struct buf *in, const char *key, char *out, size_t outlen) {
  const char *end = in->data + in->len;
  const char *from = in->data;
  for (const char *q; (q = next_value(in, key, &from));) {
    if (q >= end || *q != '"') continue;
    const char *v = ++q;
    while (q < end && *q != '"') {
      if (*q == '\\' || (unsigned char)*q < 0x20) return 0;
      q++;
    }
    return q < end && copy_value(v, q, out, outlen);
  }
  return 0;
}

// A top-level-looking field's raw value (the bytes up to the next ',', '}' or blank), copied to
// out when shorter than outlen; 0 when absent.
static int raw_field(const struct buf *in, const char *key, char *out, size_t outlen) {
  const char *end = in->data + in->len;
  const char *from = in->data;
  const char *q = next_value(in, key, &from);
  if (!q) return 0;
  const char *v = q;
  while (q < end && !strchr(",} \t\r\n", *q)) q++;
  return copy_value(v, q, out, outlen);
}

// The on-demand server's idle seconds, 0 when the shim must not start one: MINICNI_ON_DEMAND
// ("1"/"0") over the config's "onDemand" (true/false), then MINICNI_ON_DEMAND_IDLE over
// "onDemandIdleSeconds"; a value that is not a whole number from 1 to a day means the default.
static long on_demand_idle(const struct buf *in) {
  char v[32];
  const char *env = getenv("MINICNI_ON_DEMAND");
  int on = env && *env ? strcmp(env, "1") == 0 : raw_field(in, "onDemand", v, sizeof v) && strcmp(v, "true") == 0;
  if (!on) return 0;
  env = getenv("MINICNI_ON_DEMAND_IDLE");
  const char *s = env && *env ? env : raw_field(in, "onDemandIdleSeconds", v, sizeof v) ? v : NULL;
  if (!s || !*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 6) return ON_DEMAND_IDLE_DEFAULT;
  long n = strtol(s, NULL, 10);
  return n >= 1 && n <= ON_DEMAND_IDLE_MAX ? n : ON_DEMAND_IDLE_DEFAULT;
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

// X-standalone beside this executable, or MINICNI_STANDALONE.
static void standalone_path(const struct buf *in, char *path, size_t len) {
  const char *env = getenv("MINICNI_STANDALONE");
  if (env && *env) {
    snprintf(path, len, "%s", env);
  } else {
    self_path(in, path, len);
    strcat(path, STANDALONE_SUFFIX);
  }
}

// Run the standalone plugin in our place: same argv[1..], environment and stdin.
static void exec_standalone(char **argv, const struct buf *in, const char *why) {
  char path[4096];
  standalone_path(in, path, sizeof path);
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

static void sleep_ms(long ms) {
  struct timespec t = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
  while (nanosleep(&t, &t) < 0 && errno == EINTR) {
  }
}

static long now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

// A connected socket to path, or -1 with the reason in why.
static int try_connect(const char *path, char *why, size_t whylen) {
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof addr.sun_path) {
    snprintf(why, whylen, "socket path too long");
    return -1;
  }
  strcpy(addr.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    snprintf(why, whylen, "%s", strerror(errno));
    return -1;
  }
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
    snprintf(why, whylen, "%.120s: %s", path, strerror(errno));
    close(fd);
    return -1;
  }
  return fd;
}

// The server's process, in its own session, stdio to the log, only PATH in its environment, no
// descriptor of ours (the runtime waits for the end of our stdout: the server must not hold it).
static pid_t start_server(const struct buf *in, const char *sock, const char *dir, long idle, const char *build,
                          char *why, size_t whylen) {
  char exe[4096], logf[4200], pidf[4200], idle_s[24], path_env[4200];
  standalone_path(in, exe, sizeof exe);
  snprintf(logf, sizeof logf, "%s/ondemand.log", dir);
  snprintf(pidf, sizeof pidf, "%s/ondemand.pid", dir);
  snprintf(idle_s, sizeof idle_s, "%ld", idle);
  const char *path = getenv("PATH");
  snprintf(path_env, sizeof path_env, "PATH=%s", path && *path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  int log = open(logf, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (log < 0) {
    snprintf(why, whylen, "on-demand server log %.120s: %s", logf, strerror(errno));
    return -1;
  }
  struct stat st;
  if (fstat(log, &st) == 0 && st.st_size > ON_DEMAND_LOG_MAX) (void)!ftruncate(log, 0);
  int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
  pid_t pid = fork();
  if (pid < 0) {
    snprintf(why, whylen, "fork: %s", strerror(errno));
    close(log);
    if (null >= 0) close(null);
    return -1;
  }
  if (pid == 0) {
    setsid();
    if (null < 0 || dup2(null, 0) < 0 || dup2(log, 1) < 0 || dup2(log, 2) < 0) _exit(127);
    close_range(3, ~0u, 0);
    umask(077);
    if (chdir("/") < 0) _exit(127);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    char *args[12] = {exe, "serve", "--socket", (char *)sock, "--idle-exit", idle_s, "--pid-file", pidf, NULL};
    if (*build) {
      args[8] = "--build-id";
      args[9] = (char *)build;
      args[10] = NULL;
    }
    char *envp[] = {path_env, NULL};
    execve(exe, args, envp);
    dprintf(2, "minicni-shim: cannot start the on-demand server %s: %s\n", exe, strerror(errno));
    _exit(127);
  }
  close(log);
  if (null >= 0) close(null);
  return pid;
}

// A connection to the on-demand server in the directory of sock (started here when nobody
// answers), or -1 with the reason in why. *started is the pid of a server this call started.
static int on_demand(const struct buf *in, const char *sock, long idle, const char *build, pid_t *started,
                     char *why, size_t whylen) {
  char dir[200], osock[240], lockf[240];
  snprintf(dir, sizeof dir, "%s", sock);
  char *slash = strrchr(dir, '/');
  if (!slash || slash == dir) {
    snprintf(why, whylen, "%.120s: no directory for an on-demand server", sock);
    return -1;
  }
  *slash = 0;
  snprintf(osock, sizeof osock, "%s/ondemand.sock", dir);
  snprintf(lockf, sizeof lockf, "%s/ondemand.lock", dir);
  char cwhy[200];
  int fd = try_connect(osock, cwhy, sizeof cwhy);
  if (fd >= 0) return fd;
  // Root-only, as the server checks too: a directory someone else could write is not used.
  if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
    snprintf(why, whylen, "on-demand directory %.120s: %s", dir, strerror(errno));
    return -1;
  }
  struct stat st;
  if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022)) {
    snprintf(why, whylen, "on-demand directory %.120s is not a directory of this user that only it can write", dir);
    return -1;
  }
  int lock = open(lockf, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (lock < 0) {
    snprintf(why, whylen, "on-demand lock %.120s: %s", lockf, strerror(errno));
    return -1;
  }
  long deadline = now_ms() + ON_DEMAND_START_MS;
  while (flock(lock, LOCK_EX | LOCK_NB) < 0) {
    if ((errno != EWOULDBLOCK && errno != EINTR) || now_ms() > deadline) {
      snprintf(why, whylen, "on-demand lock %.120s: %s", lockf, errno == EWOULDBLOCK ? "another start took too long" : strerror(errno));
      close(lock);
      return -1;
    }
    sleep_ms(2);
  }
  // Another shim may have started it while this one waited for the lock.
  fd = try_connect(osock, cwhy, sizeof cwhy);
  if (fd >= 0) {
    close(lock);
    return fd;
  }
  pid_t pid = start_server(in, osock, dir, idle, build, why, whylen);
  if (pid < 0) {
    close(lock);
    return -1;
  }
  for (;;) {
    sleep_ms(2);
    fd = try_connect(osock, cwhy, sizeof cwhy);
    if (fd >= 0) break;
    int status;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      snprintf(why, whylen, "the on-demand server exited (status %d) before listening; see %s/ondemand.log",
               WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), dir);
      close(lock);
      return -1;
    }
    if (now_ms() > deadline) {
      // Left to come up for the next call (it exits when idle); this call runs standalone.
      snprintf(why, whylen, "the on-demand server (pid %d) did not listen within %d ms", (int)pid, ON_DEMAND_START_MS);
      close(lock);
      return -1;
    }
  }
  close(lock);
  *started = pid;
  return fd;
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
  char sock[sizeof ((struct sockaddr_un *)0)->sun_path];
  const char *env_sock = getenv("MINICNI_AGENT_SOCKET");
  if (env_sock && *env_sock) {
    if (strlen(env_sock) >= sizeof sock) exec_standalone(argv, &in, "socket path too long");
    strcpy(sock, env_sock);
  } else if (!string_field(&in, "agentSocket", sock, sizeof sock)) {
    char self[4096];
    self_path(&in, self, sizeof self);
    const char *name = strrchr(self, '/') + 1;
    if ((size_t)snprintf(sock, sizeof sock, "/run/%s/plugin.sock", name) >= sizeof sock)
      exec_standalone(argv, &in, "default socket path too long");
  }
  char build[BUILD_ID_MAX + 1];
  build_id(build);
  char why[600];
  const char *served = sock;
  pid_t started = 0;
  int fd = try_connect(sock, why, sizeof why);
  if (fd < 0) {
    long idle = on_demand_idle(&in);
    if (idle > 0) {
      char odwhy[400];
      fd = on_demand(&in, sock, idle, build, &started, odwhy, sizeof odwhy);
      if (fd < 0) {
        size_t n = strlen(why);
        snprintf(why + n, sizeof why - n, "; %s", odwhy);
      }
      served = "the on-demand server";
    }
    if (fd < 0) exec_standalone(argv, &in, why);
  }
  // Only a server running as this very user gets the call: a socket someone else created at a
  // path a config names (a careless /tmp path, say) must not receive configs or forge results.
  struct ucred cred;
  socklen_t credlen = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &credlen) < 0)
    fail(&in, 999, "minicni-shim: cannot read the plugin socket's peer credentials", strerror(errno));
  if (cred.uid != geteuid()) {
    char details[200];
    snprintf(details, sizeof details, "%.120s is served by uid %u", served, (unsigned)cred.uid);
    fail(&in, 999, "minicni-shim: refusing a plugin socket served by another user", details);
  }

  struct buf req = {0}, env = {0};
  for (char **e = environ; *e; e++) {
    if (strncmp(*e, "CNI_", 4) == 0) buf_put(&env, *e, strlen(*e) + 1);
  }
  unsigned char header[HEADER_LEN] = {'M', 'C', 'N', 'I', PROTOCOL_VERSION >> 8, PROTOCOL_VERSION & 0xff};
  buf_put(&req, header, HEADER_LEN);
  size_t blen = strlen(build);
  unsigned char bl[2] = {(unsigned char)(blen >> 8), (unsigned char)blen};
  buf_put(&req, bl, 2);
  if (blen) buf_put(&req, build, blen);
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
    fail(&in, 999, "minicni-shim: the plugin socket answered something that is not a minicni reply", served);
  unsigned version = (unsigned)head[4] << 8 | head[5];
  if (version != PROTOCOL_VERSION) {
    // The server ran nothing: the standalone plugin answers this call instead. A server this
    // call started that turns out to be of another protocol is not left running.
    if (started > 0) kill(started, SIGTERM);
    snprintf(why, sizeof why, "it speaks protocol %u, this shim %u", version, PROTOCOL_VERSION);
    close(fd);
    exec_standalone(argv, &in, why);
  }
  if (read_exact(fd, head + HEADER_LEN, 8) < 0) fail(&in, 11, broke, "no reply header");
  uint32_t status = get_u32(head + HEADER_LEN), outlen = get_u32(head + HEADER_LEN + 4);
  if (status == BUILD_MISMATCH) {
    // The server ran nothing (an on-demand one now exits): the standalone plugin answers.
    char theirs[BUILD_ID_MAX + 1] = "";
    if (outlen <= BUILD_ID_MAX && read_exact(fd, theirs, outlen) == 0) theirs[outlen] = 0;
    snprintf(why, sizeof why, "it is build %s, this shim build %s", theirs, build);
    close(fd);
    exec_standalone(argv, &in, why);
  }
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
