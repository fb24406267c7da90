/*
 * berth-console-relay: the receiving end of a runtime's --console-socket.
 *
 * Node cannot receive a file descriptor (no SCM_RIGHTS in node:net), so `berth run -t` spawns this
 * program: it listens on SOCKET, takes the pty master a runtime (berth-runc, runc, crun) sends over
 * the first connection, and relays bytes between its own stdin/stdout and the master until the
 * container's last process closes the pty (EIO). No policy, no JSON.
 *
 * Usage: berth-console-relay [--no-stdin] SOCKET
 *   --no-stdin  never read stdin (`-t` without `-i`: the container's input is not attached)
 *
 * The socket appears at SOCKET only once it is listening (bound under a temporary name, then
 * renamed), so a caller may wait for the path and connect. When stdin (or stdout) is a terminal,
 * its window size is copied to the pty at start and on SIGWINCH; when stdin is read and is a
 * terminal, it is put in raw mode and restored on every exit path. Exit 0 after the pty closed and
 * all its output was written; 1 with one line on stderr otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#define BUF_SIZE 65536

static struct termios saved_termios;
static volatile sig_atomic_t raw_mode_set;
static volatile sig_atomic_t winch_pending;
static const char *socket_path;

static void restore_terminal(void) {
  if (raw_mode_set) tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_termios);
  raw_mode_set = 0;
}

static void cleanup(void) {
  restore_terminal();
  if (socket_path) unlink(socket_path);
}

static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char line[512];
  vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  dprintf(STDERR_FILENO, "berth-console-relay: %s\n", line);
  exit(1);
}

/* Only async-signal-safe calls: the terminal must come back even when we are killed mid-write. */
static void on_fatal_signal(int sig) {
  if (raw_mode_set) tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_termios);
  if (socket_path) unlink(socket_path);
  _exit(128 + sig);
}

static void on_winch(int sig) { winch_pending = 1; }

static void set_handler(int sig, void (*fn)(int)) {
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = fn;
  sigemptyset(&sa.sa_mask);
  sigaction(sig, &sa, NULL);
}

static int listen_on(const char *path) {
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof(addr));
  addr.sun_family = AF_UNIX;
  char tmp[sizeof(addr.sun_path)];
  if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) die("socket path too long: %s", path);
  strcpy(addr.sun_path, tmp);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket: %s", strerror(errno));
  unlink(tmp);
  mode_t old = umask(0077);
  int bound = bind(fd, (struct sockaddr *)&addr, sizeof(addr));
  umask(old);
  if (bound < 0) die("bind %s: %s", tmp, strerror(errno));
  if (chmod(tmp, 0600) < 0 || listen(fd, 1) < 0) {
    int e = errno;
    unlink(tmp);
    die("listen on %s: %s", tmp, strerror(e));
  }
  if (rename(tmp, path) < 0) {
    int e = errno;
    unlink(tmp);
    die("rename %s: %s", tmp, strerror(e));
  }
  socket_path = path;
  return fd;
}

static int accept_one(int listener) {
  for (;;) {
    int conn = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
    if (conn >= 0) return conn;
    if (errno != EINTR && errno != ECONNABORTED) die("accept: %s", strerror(errno));
  }
}

/* One message carrying exactly one fd, a terminal (runc, crun and berth-runc also send the pty's name). */
static int receive_master(int conn) {
  char name[PATH_MAX];
  union {
    char buf[CMSG_SPACE(sizeof(int) * 4)];
    struct cmsghdr align;
  } control;
  struct iovec iov = {.iov_base = name, .iov_len = sizeof(name)};
  struct msghdr msg;
  memset(&msg, 0, sizeof(msg));
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buf;
  msg.msg_controllen = sizeof(control.buf);
  ssize_t n;
  do n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n < 0) die("receive the pty: %s", strerror(errno));
  int master = -1, extra = 0;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; i++) {
      int fd;
      memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      if (master < 0) master = fd;
      else {
        close(fd);
        extra++;
      }
    }
  }
  if (msg.msg_flags & MSG_CTRUNC) extra++;
  if (master < 0) die("the console socket's message carried no file descriptor (%zd bytes of data)", n);
  if (extra) die("the console socket's message carried more than one file descriptor");
  if (!isatty(master)) die("the file descriptor received on the console socket is not a terminal");
  return master;
}

static void copy_window_size(int from, int master) {
  struct winsize ws;
  if (from >= 0 && ioctl(from, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col) ioctl(master, TIOCSWINSZ, &ws);
}

static void enter_raw_mode(void) {
  if (tcgetattr(STDIN_FILENO, &saved_termios) < 0) die("tcgetattr: %s", strerror(errno));
  struct termios raw = saved_termios;
  cfmakeraw(&raw);
  raw_mode_set = 1;
  if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) < 0) die("tcsetattr: %s", strerror(errno));
}

struct buffer {
  char data[BUF_SIZE];
  size_t start, end;
};

static size_t pending(const struct buffer *b) { return b->end - b->start; }

/* Read what is ready into b; returns bytes read, 0 at EOF, -1 with errno (EAGAIN when none). */
static ssize_t fill(int fd, struct buffer *b) {
  if (b->start == b->end) b->start = b->end = 0;
  if (b->end == BUF_SIZE) {
    memmove(b->data, b->data + b->start, pending(b));
    b->end -= b->start;
    b->start = 0;
  }
  ssize_t n;
  do n = read(fd, b->data + b->end, BUF_SIZE - b->end);
  while (n < 0 && errno == EINTR);
  if (n > 0) b->end += (size_t)n;
  return n;
}

/*
 * Write some of b. stdin/stdout stay blocking (their open file description is shared with the
 * caller's terminal or pipe), so after POLLOUT at most PIPE_BUF bytes go, which never blocks a pipe.
 */
static int drain(int fd, struct buffer *b, size_t limit) {
  size_t len = pending(b) < limit ? pending(b) : limit;
  ssize_t n;
  do n = write(fd, b->data + b->start, len);
  while (n < 0 && errno == EINTR);
  if (n < 0) return errno == EAGAIN ? 0 : -1;
  b->start += (size_t)n;
  return 0;
}

static void write_all(int fd, const char *p, size_t len) {
  while (len) {
    ssize_t n = write(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      struct pollfd w = {.fd = fd, .events = POLLOUT};
      poll(&w, 1, -1);
      continue;
    }
    if (n <= 0) return;
    p += n;
    len -= (size_t)n;
  }
}

int main(int argc, char **argv) {
  int read_stdin = 1;
  int argi = 1;
  if (argi < argc && strcmp(argv[argi], "--no-stdin") == 0) {
    read_stdin = 0;
    argi++;
  }
  if (argc - argi != 1 || argv[argi][0] == '-') {
    dprintf(STDERR_FILENO, "usage: berth-console-relay [--no-stdin] SOCKET\n");
    return 2;
  }
  atexit(cleanup);
  signal(SIGPIPE, SIG_IGN);
  set_handler(SIGTERM, on_fatal_signal);
  set_handler(SIGHUP, on_fatal_signal);

  int listener = listen_on(argv[argi]);
  int conn = accept_one(listener);
  int master = receive_master(conn);
  close(conn);
  if (fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK) < 0) die("fcntl: %s", strerror(errno));

  /*
   * From here the terminal's keys belong to the container: in raw mode ^C is a byte for it, and
   * without -i the caller (berth) forwards SIGINT/SIGQUIT to the container, whose exit ends us.
   */
  signal(SIGINT, SIG_IGN);
  signal(SIGQUIT, SIG_IGN);
  int in_tty = read_stdin && isatty(STDIN_FILENO);
  int size_fd = isatty(STDIN_FILENO) ? STDIN_FILENO : isatty(STDOUT_FILENO) ? STDOUT_FILENO : -1;
  sigset_t winch, unblocked;
  sigemptyset(&winch);
  sigaddset(&winch, SIGWINCH);
  sigprocmask(SIG_BLOCK, &winch, &unblocked);
  sigdelset(&unblocked, SIGWINCH);
  if (size_fd >= 0) set_handler(SIGWINCH, on_winch);
  copy_window_size(size_fd, master);
  if (in_tty) enter_raw_mode();

  static struct buffer to_master, to_stdout;
  int stdin_open = read_stdin, stdout_ok = 1, status = 0;
  for (;;) {
    if (winch_pending) {
      winch_pending = 0;
      copy_window_size(size_fd, master);
    }
    struct pollfd fds[4];
    nfds_t nfds = 0;
    int i_in = -1, i_out = -1, i_master, i_listen;
    if (stdin_open && pending(&to_master) < BUF_SIZE / 2) {
      i_in = (int)nfds;
      fds[nfds++] = (struct pollfd){.fd = STDIN_FILENO, .events = POLLIN};
    }
    if (pending(&to_stdout)) {
      i_out = (int)nfds;
      fds[nfds++] = (struct pollfd){.fd = STDOUT_FILENO, .events = POLLOUT};
    }
    short master_events = (pending(&to_stdout) < BUF_SIZE / 2 ? POLLIN : 0) | (pending(&to_master) ? POLLOUT : 0);
    i_master = (int)nfds;
    fds[nfds++] = (struct pollfd){.fd = master, .events = master_events};
    i_listen = (int)nfds;
    fds[nfds++] = (struct pollfd){.fd = listener, .events = POLLIN};
    if (ppoll(fds, nfds, NULL, &unblocked) < 0) {
      if (errno == EINTR) continue;
      die("poll: %s", strerror(errno));
    }
    if (fds[i_listen].revents & POLLIN) die("a second connection on the console socket %s", socket_path);
    if (i_in >= 0 && fds[i_in].revents) {
      ssize_t n = fill(STDIN_FILENO, &to_master);
      if (n == 0 || (n < 0 && errno != EAGAIN)) {
        /* The caller's input ended: the container sees end-of-file as a terminal shows it, VEOF. */
        stdin_open = 0;
        struct termios t;
        char eof = tcgetattr(master, &t) == 0 ? (char)t.c_cc[VEOF] : 4;
        if (to_master.end < BUF_SIZE) to_master.data[to_master.end++] = eof;
      }
    }
    if (fds[i_master].revents & POLLOUT) {
      if (drain(master, &to_master, BUF_SIZE) < 0) die("write to the pty: %s", strerror(errno));
    }
    if ((fds[i_master].revents & (POLLIN | POLLHUP | POLLERR)) && pending(&to_stdout) < BUF_SIZE) {
      ssize_t n = fill(master, &to_stdout);
      if (n == 0 || (n < 0 && errno != EAGAIN)) {
        /* EIO: the container's last process closed the pty. */
        if (n < 0 && errno != EIO) status = 1;
        break;
      }
    }
    if (i_out >= 0 && fds[i_out].revents) {
      if (drain(STDOUT_FILENO, &to_stdout, PIPE_BUF) < 0) {
        /* Nobody reads our output any more; keep draining the pty so the container is not blocked. */
        stdout_ok = 0;
      }
    }
    if (!stdout_ok) to_stdout.start = to_stdout.end = 0;
  }
  if (stdout_ok) write_all(STDOUT_FILENO, to_stdout.data + to_stdout.start, pending(&to_stdout));
  close(master);
  close(listener);
  return status;
}
