/*
 * berth-runc-init: the executing half of berth-runc.
 *
 * TypeScript validates config.json and compiles it into a flat, ordered plan
 * (src/runtime/plan/). This program holds no policy and parses no JSON: it reads
 * the plan from the sync socket, performs each step in order, reports errors as
 * one line, waits on the exec fifo when told to, and execs the container process.
 *
 * Usage: berth-runc-init SYNC_FD MODE [STATUS_FILE]    (MODE: create | run | exec)
 * run with STATUS_FILE: the container's exit status is also written there (a detached `berth run`, whose helper
 * outlives the caller, so that `berth ps -a` can show it).
 *
 * Plan wire format (all integers little-endian u32):
 *   total_len, then records: op, argc, { len, bytes }*argc
 * Sync messages written back (text lines): "pid N", "ready", "error MESSAGE".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/filter.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>
#include <net/if.h>

#include "ops.h"

#define MAX_ARGS 4096

struct op {
  uint32_t code;
  uint32_t argc;
  char **argv;
  uint32_t *lens;
};

static int sync_fd = -1;
static const char *mode = "create";
static int root_fd = -1;        /* O_PATH fd of the rootfs before pivot_root */
static char rootfs_path[PATH_MAX];
static int fifo_fd = -1;
static int console_fd = -1;     /* connected console socket, when terminal */
static int preserve_fds = 0;
static char *exec_args[MAX_ARGS];
static int exec_argc = 0;
static char *exec_env[MAX_ARGS];
static int exec_envc = 0;
static int after_pivot = 0;
static char host_pid[32] = "0"; /* our pid as the host sees it, for the state hooks read */

static void send_line(const char *fmt, ...) {
  char buf[4096];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if (n > (int)sizeof(buf) - 2) n = sizeof(buf) - 2;
  for (int i = 0; i < n; i++)
    if (buf[i] == '\n') buf[i] = ' ';
  buf[n++] = '\n';
  if (sync_fd >= 0) {
    ssize_t ignored = write(sync_fd, buf, n);
    (void)ignored;
  } else {
    ssize_t ignored = write(2, buf, n);
    (void)ignored;
  }
}

/* One line to the caller and exit: the TypeScript side turns it into a BerthError. */
static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void die(const char *fmt, ...) {
  char msg[3800];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  if (sync_fd >= 0) send_line("error %s", msg);
  else {
    dprintf(2, "berth-runc: %s\n", msg);
  }
  _exit(1);
}

static int read_full(int fd, void *buf, size_t len) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = read(fd, (char *)buf + done, len - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    done += n;
  }
  return 0;
}

static uint32_t get_u32(const unsigned char *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static struct op *parse_plan(unsigned char *buf, uint32_t len, size_t *count) {
  size_t cap = 64, n = 0;
  struct op *ops = calloc(cap, sizeof(*ops));
  uint32_t pos = 0;
  while (pos < len) {
    if (len - pos < 8) die("plan: truncated record");
    if (n == cap) {
      cap *= 2;
      ops = realloc(ops, cap * sizeof(*ops));
    }
    struct op *o = &ops[n++];
    o->code = get_u32(buf + pos);
    o->argc = get_u32(buf + pos + 4);
    pos += 8;
    if (o->argc > MAX_ARGS) die("plan: too many arguments");
    o->argv = calloc(o->argc + 1, sizeof(char *));
    o->lens = calloc(o->argc + 1, sizeof(uint32_t));
    for (uint32_t i = 0; i < o->argc; i++) {
      if (len - pos < 4) die("plan: truncated argument");
      uint32_t alen = get_u32(buf + pos);
      pos += 4;
      if (alen > len - pos) die("plan: argument overruns plan");
      char *s = malloc(alen + 1);
      memcpy(s, buf + pos, alen);
      s[alen] = 0;
      o->argv[i] = s;
      o->lens[i] = alen;
      pos += alen;
    }
  }
  *count = n;
  return ops;
}

static unsigned long long num(const char *s) { return strtoull(s, NULL, 0); }

/* ---- CVE-2019-5736: run from a sealed in-memory copy so the container can never write our binary ---- */

static void ensure_sealed_copy(char **argv) {
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n < 0) die("readlink /proc/self/exe: %s", strerror(errno));
  self[n] = 0;
  if (strncmp(self, "/memfd:berth-runc-init", 22) == 0) return;
  int src = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (src < 0) die("open /proc/self/exe: %s", strerror(errno));
  int mfd = memfd_create("berth-runc-init", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (mfd < 0) die("memfd_create: %s", strerror(errno));
  struct stat st;
  if (fstat(src, &st) < 0) die("fstat self: %s", strerror(errno));
  off_t left = st.st_size;
  while (left > 0) {
    ssize_t w = sendfile(mfd, src, NULL, left);
    if (w <= 0) die("copy self: %s", strerror(errno));
    left -= w;
  }
  close(src);
  if (fcntl(mfd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0)
    die("seal memfd: %s", strerror(errno));
  extern char **environ;
  fexecve(mfd, argv, environ);
  die("fexecve sealed copy: %s", strerror(errno));
}

/* ---- path resolution inside the root (CVE-2021-30465): never through a symlink the container controls ---- */

static int open_in_root(const char *path, int flags, unsigned long long resolve) {
  struct open_how how = {0};
  how.flags = flags | O_CLOEXEC;
  how.resolve = resolve;
  return syscall(SYS_openat2, root_fd, path, &how, sizeof(how));
}

/*
 * Resolve DEST inside the rootfs, creating missing parents (as dirs) and the leaf (dir or file).
 * A dangling symlink on the way is followed the way the kernel would inside the root: its target
 * is created inside the rootfs, never on the host.
 */
static int resolve_target(const char *dest_in, int leaf_is_file, int no_symlinks) {
  unsigned long long resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | (no_symlinks ? RESOLVE_NO_SYMLINKS : 0);
  char dest[PATH_MAX];
  snprintf(dest, sizeof(dest), "%s", dest_in);
  for (int hops = 0; hops < 40; hops++) {
    int fd = open_in_root(dest, O_PATH, resolve);
    if (fd >= 0) return fd;
    if (errno == ELOOP && no_symlinks) die("mount target %s is a symlink inside the rootfs; refusing", dest_in);
    if (errno != ENOENT) die("resolve %s in rootfs: %s", dest_in, strerror(errno));
    size_t dlen = strlen(dest);
    int parent = dup(root_fd);
    size_t i = 0;
    int restarted = 0;
    while (i < dlen && !restarted) {
      while (i < dlen && dest[i] == '/') i++;
      size_t start = i;
      while (i < dlen && dest[i] != '/') i++;
      if (i == start) break;
      char name[NAME_MAX + 1], partial[PATH_MAX];
      size_t nlen = i - start;
      if (nlen > NAME_MAX) die("path component too long in %s", dest_in);
      memcpy(name, dest + start, nlen);
      name[nlen] = 0;
      memcpy(partial, dest, i);
      partial[i] = 0;
      int is_last = 1;
      for (size_t j = i; j < dlen; j++)
        if (dest[j] != '/') { is_last = 0; break; }
      int next = open_in_root(partial, O_PATH, resolve);
      if (next < 0 && errno == ENOENT) {
        char link[PATH_MAX];
        ssize_t ll = readlinkat(parent, name, link, sizeof(link) - 1);
        if (ll >= 0) {
          if (no_symlinks) die("mount target %s is a symlink inside the rootfs; refusing", dest_in);
          link[ll] = 0;
          char rewritten[PATH_MAX];
          int rl = link[0] == '/' ? snprintf(rewritten, sizeof(rewritten), "%s%s", link, dest + i)
                                  : snprintf(rewritten, sizeof(rewritten), "%.*s%s%s", (int)start, dest, link, dest + i);
          if (rl < 0 || rl >= (int)sizeof(rewritten)) die("path too long resolving %s", dest_in);
          snprintf(dest, sizeof(dest), "%s", rewritten);
          restarted = 1;
          close(parent);
          break;
        }
        /* The parent fd was resolved inside the root; create relative to it, not by path. */
        if (is_last && leaf_is_file) {
          int f = openat(parent, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
          if (f < 0 && errno != EEXIST) die("create %s in rootfs: %s", partial, strerror(errno));
          if (f >= 0) close(f);
        } else if (mkdirat(parent, name, 0755) < 0 && errno != EEXIST) {
          die("mkdir %s in rootfs: %s", partial, strerror(errno));
        }
        next = open_in_root(partial, O_PATH, resolve);
      }
      if (next < 0) die("resolve %s in rootfs: %s", partial, strerror(errno));
      close(parent);
      parent = next;
    }
    if (!restarted) return parent;
  }
  die("resolve %s in rootfs: too many levels of symbolic links", dest_in);
}

static void fd_path(int fd, char *out, size_t len) { snprintf(out, len, "/proc/self/fd/%d", fd); }

/* Flags a bind remount must keep, else the kernel refuses it (locked mounts in user namespaces). */
static unsigned long locked_flags(const char *path) {
  struct statvfs sv;
  unsigned long f = 0;
  if (statvfs(path, &sv) < 0) return 0;
  if (sv.f_flag & ST_NOSUID) f |= MS_NOSUID;
  if (sv.f_flag & ST_NODEV) f |= MS_NODEV;
  if (sv.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
  if (sv.f_flag & ST_RDONLY) f |= MS_RDONLY;
  return f;
}

/* OP_MOUNT source dest fstype flags data remount_flags propagation_flags */
static void do_mount(struct op *o) {
  const char *src = o->argv[0], *dest = o->argv[1], *fstype = o->argv[2];
  unsigned long flags = num(o->argv[3]);
  const char *data = o->argv[4];
  unsigned long remount = num(o->argv[5]);
  unsigned long prop = num(o->argv[6]);
  int is_bind = (flags & MS_BIND) != 0;
  int leaf_file = 0;
  if (is_bind) {
    struct stat st;
    if (stat(src, &st) < 0) die("bind source %s: %s", src, strerror(errno));
    leaf_file = !S_ISDIR(st.st_mode);
  }
  int special = strcmp(fstype, "proc") == 0 || strcmp(fstype, "sysfs") == 0;
  int tfd = resolve_target(dest, leaf_file, special);
  char target[64];
  fd_path(tfd, target, sizeof(target));
  if (special) {
    struct stat st;
    if (fstat(tfd, &st) < 0 || !S_ISDIR(st.st_mode)) die("mount target %s must be a directory", dest);
  }
  int attrs_only = !*src && !*fstype && flags == 0;
  if (!attrs_only && mount(src, target, *fstype ? fstype : NULL, flags, *data ? data : NULL) < 0) {
    int err = errno;
    if (strcmp(fstype, "sysfs") == 0 && (err == EPERM || err == EACCES)) {
      /* No own network namespace (or in a user namespace): sysfs cannot be mounted fresh; bind the host's. */
      if (mount("/sys", target, NULL, MS_BIND | MS_REC, NULL) < 0) die("mount sysfs on %s: %s", dest, strerror(errno));
      remount = remount ? remount : (flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC));
    } else if (strcmp(fstype, "mqueue") == 0 && (err == EPERM || err == EACCES)) {
      if (mount("/dev/mqueue", target, NULL, MS_BIND | MS_REC, NULL) < 0) die("mount mqueue on %s: %s", dest, strerror(errno));
    } else {
      die("mount %s on %s (type %s): %s", src, dest, *fstype ? fstype : "bind", strerror(err));
    }
  }
  close(tfd);
  if (remount || prop) {
    /* Re-resolve: the mount just made is what the flags must apply to. */
    tfd = resolve_target(dest, leaf_file, 0);
    fd_path(tfd, target, sizeof(target));
    if (remount) {
      unsigned long keep = locked_flags(target) & ~MS_RDONLY;
      if (mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | remount | keep, NULL) < 0)
        die("remount %s: %s", dest, strerror(errno));
    }
    if (prop && mount(NULL, target, NULL, prop, NULL) < 0) die("set propagation of %s: %s", dest, strerror(errno));
    close(tfd);
  }
}

/* The directory that holds `path`'s last component, resolved inside the root (never through a symlink the
 * container controls) and opened for the *at calls that create the entry; *name is that component, in buf. */
static int open_parent(const char *path, char *buf, size_t len, const char **name) {
  snprintf(buf, len, "%s", path);
  char *slash = strrchr(buf, '/');
  *name = slash ? slash + 1 : buf;
  if (slash) *slash = 0;
  int pfd = resolve_target(*buf ? buf : "/", 0, 0);
  char pdir[64];
  fd_path(pfd, pdir, sizeof(pdir));
  int dfd = open(pdir, O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) die("open %s: %s", buf, strerror(errno));
  close(pfd);
  return dfd;
}

/* The exec fifo `start` opens to let the process run; kept as an O_PATH fd until then. */
static void open_exec_fifo(const char *path) {
  if (mkfifo(path, 0622) < 0) die("create exec fifo %s: %s", path, strerror(errno));
  /* umask would strip the write bits a non-root container user needs to signal readiness */
  if (chmod(path, 0622) < 0) die("chmod exec fifo: %s", strerror(errno));
  fifo_fd = open(path, O_PATH | O_CLOEXEC);
  if (fifo_fd < 0) die("open exec fifo %s: %s", path, strerror(errno));
}

/* OP_MKNOD dest type(c|b|p) major minor mode uid gid */
static void do_mknod(struct op *o) {
  const char *dest = o->argv[0];
  char t = o->argv[1][0];
  mode_t mode = (mode_t)num(o->argv[4]) & 07777;
  mode |= t == 'b' ? S_IFBLK : t == 'p' ? S_IFIFO : S_IFCHR;
  dev_t dev = makedev(num(o->argv[2]), num(o->argv[3]));
  char parent[PATH_MAX];
  const char *name;
  int dfd = open_parent(dest, parent, sizeof(parent), &name);
  unlinkat(dfd, name, 0);
  if (mknodat(dfd, name, mode, dev) < 0) {
    if (errno == EPERM) {
      /* In a user namespace mknod is refused: bind the host's node instead (as runc does). */
      int f = openat(dfd, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
      if (f < 0) die("create %s: %s", dest, strerror(errno));
      close(f);
      char host[PATH_MAX];
      snprintf(host, sizeof(host), "%s", o->argv[7]);
      int tfd = resolve_target(dest, 1, 1);
      char target[64];
      fd_path(tfd, target, sizeof(target));
      if (mount(host, target, NULL, MS_BIND, NULL) < 0) die("bind device %s: %s", host, strerror(errno));
      close(tfd);
      close(dfd);
      return;
    }
    die("mknod %s: %s", dest, strerror(errno));
  }
  if (fchmodat(dfd, name, mode & 07777, 0) < 0) die("chmod %s: %s", dest, strerror(errno));
  if (fchownat(dfd, name, (uid_t)num(o->argv[5]), (gid_t)num(o->argv[6]), AT_SYMLINK_NOFOLLOW) < 0)
    die("chown %s: %s", dest, strerror(errno));
  close(dfd);
}

/* OP_SYMLINK target linkpath (linkpath inside rootfs) */
static void do_symlink(struct op *o) {
  char parent[PATH_MAX];
  const char *name;
  int dfd = open_parent(o->argv[1], parent, sizeof(parent), &name);
  if (symlinkat(o->argv[0], dfd, name) < 0 && errno != EEXIST) die("symlink %s: %s", o->argv[1], strerror(errno));
  close(dfd);
}

/*
 * The mount the rootfs lives on must not be shared: pivot_root refuses a shared parent, and the
 * rootfs bind would propagate back to the host. Find it in mountinfo (longest mount point that
 * contains the path) and make it private in our namespace.
 */
static void make_parent_mount_private(const char *path) {
  FILE *f = fopen("/proc/self/mountinfo", "re");
  if (!f) die("open mountinfo: %s", strerror(errno));
  char line[8192], best[PATH_MAX] = "/";
  size_t best_len = 1;
  while (fgets(line, sizeof(line), f)) {
    char mp[PATH_MAX];
    if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1) continue;
    /* mountinfo escapes space, tab, newline and backslash as octal */
    char un[PATH_MAX];
    size_t j = 0;
    for (size_t i = 0; mp[i] && j < sizeof(un) - 1; i++) {
      if (mp[i] == '\\' && mp[i + 1] && mp[i + 2] && mp[i + 3]) {
        un[j++] = (char)(((mp[i + 1] - '0') << 6) | ((mp[i + 2] - '0') << 3) | (mp[i + 3] - '0'));
        i += 3;
      } else un[j++] = mp[i];
    }
    un[j] = 0;
    size_t l = strlen(un);
    int contains = strcmp(un, "/") == 0 || (strncmp(path, un, l) == 0 && (path[l] == '/' || path[l] == 0));
    if (contains && l >= best_len && strcmp(un, path) != 0) {
      snprintf(best, sizeof(best), "%s", un);
      best_len = l;
    }
  }
  fclose(f);
  if (mount(NULL, best, NULL, MS_PRIVATE, NULL) < 0) die("make %s private: %s", best, strerror(errno));
}

static void do_rootfs(struct op *o) {
  snprintf(rootfs_path, sizeof(rootfs_path), "%s", o->argv[0]);
  make_parent_mount_private(rootfs_path);
  /* pivot_root needs the new root to be a mount point. */
  if (mount(rootfs_path, rootfs_path, NULL, MS_BIND | MS_REC, NULL) < 0) die("bind rootfs %s: %s", rootfs_path, strerror(errno));
  root_fd = open(rootfs_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0) die("open rootfs %s: %s", rootfs_path, strerror(errno));
}

static void do_pivot(int no_pivot) {
  if (chdir(rootfs_path) < 0) die("chdir rootfs: %s", strerror(errno));
  if (no_pivot) {
    if (mount(rootfs_path, "/", NULL, MS_MOVE, NULL) < 0) die("move rootfs: %s", strerror(errno));
    if (chroot(".") < 0) die("chroot: %s", strerror(errno));
  } else {
    /* pivot_root(".", ".") stacks the old root under the new; detach it so no host mount stays visible. */
    if (syscall(SYS_pivot_root, ".", ".") < 0) die("pivot_root: %s", strerror(errno));
    if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0) die("make old root slave: %s", strerror(errno));
    if (umount2(".", MNT_DETACH) < 0) die("detach old root: %s", strerror(errno));
  }
  if (chdir("/") < 0) die("chdir /: %s", strerror(errno));
  close(root_fd);
  root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  after_pivot = 1;
}

/* Masking binds only a verified /dev/null (CVE-2025-31133): the container may have swapped it for a symlink. */
static void do_mask(const char *path) {
  int pfd = open_in_root(path, O_PATH | O_NOFOLLOW, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
  if (pfd < 0) {
    if (errno == ENOENT) return;
    die("mask %s: %s", path, strerror(errno));
  }
  struct stat st;
  if (fstat(pfd, &st) < 0) die("stat %s: %s", path, strerror(errno));
  char target[64];
  fd_path(pfd, target, sizeof(target));
  if (S_ISDIR(st.st_mode)) {
    if (mount("tmpfs", target, "tmpfs", MS_RDONLY, NULL) < 0) die("mask %s: %s", path, strerror(errno));
  } else {
    int nfd = open_in_root("/dev/null", O_PATH | O_NOFOLLOW, RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS);
    struct stat ns;
    if (nfd < 0 || fstat(nfd, &ns) < 0) die("mask %s: /dev/null: %s", path, strerror(errno));
    if (!S_ISCHR(ns.st_mode) || ns.st_rdev != makedev(1, 3)) die("mask %s: /dev/null is not the null device; refusing", path);
    char src[64];
    fd_path(nfd, src, sizeof(src));
    if (mount(src, target, NULL, MS_BIND, NULL) < 0) die("mask %s: %s", path, strerror(errno));
    close(nfd);
  }
  close(pfd);
}

static void do_readonly(const char *path) {
  int pfd = open_in_root(path, O_PATH | O_NOFOLLOW, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
  if (pfd < 0) {
    if (errno == ENOENT) return;
    die("readonly %s: %s", path, strerror(errno));
  }
  char target[64];
  fd_path(pfd, target, sizeof(target));
  if (mount(target, target, NULL, MS_BIND | MS_REC, NULL) < 0) die("readonly bind %s: %s", path, strerror(errno));
  close(pfd);
  pfd = open_in_root(path, O_PATH | O_NOFOLLOW, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
  fd_path(pfd, target, sizeof(target));
  unsigned long keep = locked_flags(target);
  if (mount(NULL, target, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | keep, NULL) < 0) die("readonly remount %s: %s", path, strerror(errno));
  close(pfd);
}

static void do_root_readonly(void) {
  unsigned long keep = locked_flags("/");
  if (mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | keep, NULL) < 0) die("remount root read-only: %s", strerror(errno));
}

static void write_file(const char *path, const char *value) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) die("open %s: %s", path, strerror(errno));
  size_t len = strlen(value);
  if (write(fd, value, len) != (ssize_t)len) die("write %s: %s", path, strerror(errno));
  close(fd);
}

static void do_sysctl(struct op *o) {
  char path[PATH_MAX];
  snprintf(path, sizeof(path), "/proc/sys/%s", o->argv[0]);
  for (char *p = path + 10; *p; p++)
    if (*p == '.') *p = '/';
  write_file(path, o->argv[1]);
}

static void do_caps_bounding(unsigned long long keep) {
  for (int cap = 0; cap <= 63; cap++) {
    if (keep & (1ULL << cap)) continue;
    if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) < 0) continue; /* beyond the kernel's last cap */
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) die("drop bounding capability %d: %s", cap, strerror(errno));
  }
}

static void do_caps(unsigned long long eff, unsigned long long perm, unsigned long long inh, unsigned long long amb) {
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  data[0].effective = (uint32_t)eff;
  data[1].effective = (uint32_t)(eff >> 32);
  data[0].permitted = (uint32_t)perm;
  data[1].permitted = (uint32_t)(perm >> 32);
  data[0].inheritable = (uint32_t)inh;
  data[1].inheritable = (uint32_t)(inh >> 32);
  if (syscall(SYS_capset, &hdr, data) < 0) die("capset: %s", strerror(errno));
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  for (int cap = 0; cap <= 63; cap++) {
    if (!(amb & (1ULL << cap))) continue;
    /* runc ignores ambient caps the kernel refuses (not in permitted+inheritable). */
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0);
  }
}

static void do_user(struct op *o) {
  uid_t uid = (uid_t)num(o->argv[0]);
  gid_t gid = (gid_t)num(o->argv[1]);
  gid_t groups[1024];
  int ngroups = 0;
  for (char *p = o->argv[2]; *p && ngroups < 1024;) {
    groups[ngroups++] = (gid_t)strtoul(p, &p, 10);
    if (*p == ',') p++;
  }
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) die("keepcaps: %s", strerror(errno));
  if (setgroups(ngroups, groups) < 0 && !(errno == EPERM && ngroups == 0)) die("setgroups: %s", strerror(errno));
  if (setresgid(gid, gid, gid) < 0) die("setgid %u: %s", gid, strerror(errno));
  if (setresuid(uid, uid, uid) < 0) die("setuid %u: %s", uid, strerror(errno));
  prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
}

static void do_cwd(const char *path) {
  if (chdir(path) < 0) die("chdir to cwd (\"%s\") set in config.json failed: %s", path, strerror(errno));
  /* CVE-2024-21626: a cwd outside the root shows up as "(unreachable)"; refuse it. */
  char buf[PATH_MAX];
  if (!getcwd(buf, sizeof(buf)) || buf[0] != '/') die("cwd %s is outside the container root; refusing", path);
}

static void do_seccomp(struct op *o) {
  struct sock_fprog prog;
  prog.len = (unsigned short)(o->lens[0] / sizeof(struct sock_filter));
  prog.filter = (struct sock_filter *)o->argv[0];
  unsigned int flags = (unsigned int)num(o->argv[1]);
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog) < 0) {
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0) die("install seccomp filter: %s", strerror(errno));
  }
}

static void close_fds(void) {
  int first = 3 + preserve_fds;
  sync_fd = -1; /* from here on, errors go to the container's stderr */
  /* CVE-2024-21626: no host fd (sync socket, fifo, caller leftovers) may reach the container. */
  if (syscall(SYS_close_range, first, ~0U, 0) == 0) return;
  for (int fd = first; fd < 65536; fd++) close(fd);
}

static void resolve_exec(void);

static void wait_fifo(void) {
  resolve_exec();
  send_line("ready");
  sync_fd = -1; /* the caller stops listening at "ready": later errors go to the container's stderr */
  char path[64];
  fd_path(fifo_fd, path, sizeof(path));
  /* After a switch to a non-root user the kernel makes us non-dumpable, which hides /proc/self/fd. */
  prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
  int w = open(path, O_WRONLY | O_CLOEXEC);
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  if (w < 0) die("open exec fifo: %s", strerror(errno));
  if (write(w, "0", 1) != 1) die("write exec fifo: %s", strerror(errno));
  close(w);
  close(fifo_fd);
  fifo_fd = -1;
}

static const char *env_lookup(const char *name) {
  size_t n = strlen(name);
  for (int i = 0; i < exec_envc; i++)
    if (strncmp(exec_env[i], name, n) == 0 && exec_env[i][n] == '=') return exec_env[i] + n + 1;
  return NULL;
}

static char exec_file[PATH_MAX];

/*
 * Find the process's executable before "ready", as runc does: a missing or non-executable command fails create/run
 * with one error (the words callers such as podman map to 127 and 126) instead of a container that exits 1.
 */
static void resolve_exec(void) {
  if (exec_argc == 0) die("process.args is empty");
  const char *file = exec_args[0];
  if (!strchr(file, '/')) {
    const char *path = env_lookup("PATH");
    if (!path) path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    while (*path) {
      const char *end = strchr(path, ':');
      size_t dl = end ? (size_t)(end - path) : strlen(path);
      snprintf(exec_file, sizeof(exec_file), "%.*s/%s", (int)dl, dl ? path : ".", file);
      struct stat st;
      if (stat(exec_file, &st) == 0 && S_ISREG(st.st_mode) && access(exec_file, X_OK) == 0) return;
      path += dl + (end ? 1 : 0);
    }
    die("exec: \"%s\": executable file not found in $PATH", file);
  }
  snprintf(exec_file, sizeof(exec_file), "%s", file);
  struct stat st;
  if (stat(exec_file, &st) < 0) die("exec: \"%s\": stat %s: %s", file, file, errno == ENOENT ? "no such file or directory" : strerror(errno));
  if (!S_ISREG(st.st_mode) || access(exec_file, X_OK) < 0) die("exec: \"%s\": permission denied", file);
}

static void do_exec(void) {
  exec_args[exec_argc] = NULL;
  exec_env[exec_envc] = NULL;
  execve(exec_file, exec_args, exec_env);
  die("exec %s: %s", exec_args[0], strerror(errno));
}

/* ---- console (terminal: true): a pty whose master goes to --console-socket ---- */

static void do_console_connect(const char *path) {
  struct sockaddr_un addr = {0};
  addr.sun_family = AF_UNIX;
  if (strlen(path) >= sizeof(addr.sun_path)) die("console socket path too long");
  strcpy(addr.sun_path, path);
  console_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (console_fd < 0 || connect(console_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
    die("connect console socket %s: %s", path, strerror(errno));
}

static void do_console_setup(struct op *o) {
  int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) die("open /dev/ptmx: %s", strerror(errno));
  if (o->argc >= 2) {
    struct winsize ws = {0};
    ws.ws_row = (unsigned short)num(o->argv[0]);
    ws.ws_col = (unsigned short)num(o->argv[1]);
    if (ws.ws_row && ws.ws_col) ioctl(master, TIOCSWINSZ, &ws);
  }
  if (unlockpt(master) < 0) die("unlockpt: %s", strerror(errno));
  char name[PATH_MAX];
  if (ptsname_r(master, name, sizeof(name)) != 0) die("ptsname: %s", strerror(errno));
  int slave = open(name, O_RDWR | O_NOCTTY);
  if (slave < 0) die("open %s: %s", name, strerror(errno));
  struct msghdr msg = {0};
  char cbuf[CMSG_SPACE(sizeof(int))];
  struct iovec iov = {.iov_base = name, .iov_len = strlen(name)};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = cbuf;
  msg.msg_controllen = sizeof(cbuf);
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &master, sizeof(int));
  if (sendmsg(console_fd, &msg, 0) < 0) die("send console fd: %s", strerror(errno));
  close(master);
  close(console_fd);
  console_fd = -1;
  if (setsid() < 0) die("setsid: %s", strerror(errno));
  if (ioctl(slave, TIOCSCTTY, 0) < 0) die("set controlling tty: %s", strerror(errno));
  for (int i = 0; i < 3; i++)
    if (dup2(slave, i) < 0) die("dup2 tty: %s", strerror(errno));
  if (slave > 2) close(slave);
}

/*
 * OP_HOOK path timeout state_prefix state_suffix argc args... env...
 * Runs a createContainer/startContainer hook from inside the container's namespaces with the
 * state JSON (our host pid spliced in) on stdin; a failure or timeout stops the container.
 */
static void do_hook(struct op *o) {
  const char *path = o->argv[0];
  int timeout = (int)num(o->argv[1]);
  int argc = (int)num(o->argv[4]);
  if (argc < 0 || 5 + (uint32_t)argc > o->argc) die("plan: bad hook record");
  char **args = &o->argv[5];
  char **env = calloc(o->argc - 5 - argc + 1, sizeof(char *));
  for (uint32_t i = 5 + argc, j = 0; i < o->argc; i++, j++) env[j] = o->argv[i];
  char *hook_argv[MAX_ARGS];
  int k = 0;
  for (; k < argc && k < MAX_ARGS - 1; k++) hook_argv[k] = args[k];
  if (k == 0) hook_argv[k++] = (char *)path;
  hook_argv[k] = NULL;
  int in[2];
  if (pipe2(in, O_CLOEXEC) < 0) die("hook pipe: %s", strerror(errno));
  pid_t pid = fork();
  if (pid < 0) die("fork hook: %s", strerror(errno));
  if (pid == 0) {
    dup2(in[0], 0);
    execve(path, hook_argv, env);
    dprintf(2, "berth-runc: exec hook %s: %s\n", path, strerror(errno));
    _exit(127);
  }
  close(in[0]);
  signal(SIGPIPE, SIG_IGN);
  dprintf(in[1], "%s%s%s", o->argv[2], host_pid, o->argv[3]);
  close(in[1]);
  int status = 0;
  for (long waited_ms = 0;; waited_ms++) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) die("wait hook %s: %s", path, strerror(errno));
    if (timeout > 0 && waited_ms >= (long)timeout * 1000) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      die("hook %s timed out after %d s", path, timeout);
    }
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) die("hook %s failed (status %d)", path, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
  free(env);
}

static void run_child_ops(struct op *ops, size_t n, size_t from) {
  /* Before pivot_root the host's /proc is still mounted: /proc/self names us in the host's pid namespace. */
  ssize_t hl = readlink("/proc/self", host_pid, sizeof(host_pid) - 1);
  host_pid[hl > 0 ? hl : 0] = 0;
  if (hl <= 0) snprintf(host_pid, sizeof(host_pid), "0");
  for (size_t i = from; i < n; i++) {
    struct op *o = &ops[i];
    switch (o->code) {
    case OP_ROOT_PROPAGATION:
      if (mount(NULL, "/", NULL, num(o->argv[0]), NULL) < 0) die("set root propagation: %s", strerror(errno));
      break;
    case OP_ROOTFS_OVERLAY: {
      /* In the container's own mount namespace: the overlay vanishes with it, nothing to clean up on the host.
       * No redirects or metacopy: every change stays in the upper, where a build step's layer is read from. */
      char data[3 * PATH_MAX + 64];
      int n = snprintf(data, sizeof(data), "lowerdir=%s,upperdir=%s,workdir=%s,redirect_dir=nofollow,metacopy=off", o->argv[0], o->argv[1], o->argv[2]);
      if (n < 0 || n >= (int)sizeof(data)) die("overlay paths too long");
      if (mount("overlay", o->argv[3], "overlay", 0, data) < 0) die("mount overlay rootfs on %s: %s", o->argv[3], strerror(errno));
      break;
    }
    case OP_ROOTFS: do_rootfs(o); break;
    case OP_MOUNT: do_mount(o); break;
    case OP_MKNOD: do_mknod(o); break;
    case OP_SYMLINK: do_symlink(o); break;
    case OP_OPEN_FIFO: open_exec_fifo(o->argv[0]); break;
    case OP_PIVOT_ROOT: do_pivot(0); break;
    case OP_NO_PIVOT: do_pivot(1); break;
    case OP_MASK: do_mask(o->argv[0]); break;
    case OP_READONLY: do_readonly(o->argv[0]); break;
    case OP_ROOT_READONLY: do_root_readonly(); break;
    case OP_SYSCTL: do_sysctl(o); break;
    case OP_HOSTNAME:
      if (sethostname(o->argv[0], strlen(o->argv[0])) < 0) die("sethostname: %s", strerror(errno));
      break;
    case OP_DOMAINNAME:
      if (setdomainname(o->argv[0], strlen(o->argv[0])) < 0) die("setdomainname: %s", strerror(errno));
      break;
    case OP_RLIMIT: {
      struct rlimit rl = {num(o->argv[1]), num(o->argv[2])};
      if (setrlimit((int)num(o->argv[0]), &rl) < 0) die("setrlimit %s: %s", o->argv[0], strerror(errno));
      break;
    }
    case OP_OOM_SCORE_ADJ: write_file("/proc/self/oom_score_adj", o->argv[0]); break;
    case OP_UMASK: umask((mode_t)num(o->argv[0])); break;
    case OP_NO_NEW_PRIVS:
      if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) die("no_new_privs: %s", strerror(errno));
      break;
    case OP_CAP_BOUNDING: do_caps_bounding(num(o->argv[0])); break;
    case OP_CAPS: do_caps(num(o->argv[0]), num(o->argv[1]), num(o->argv[2]), num(o->argv[3])); break;
    case OP_USER: do_user(o); break;
    case OP_CWD: do_cwd(o->argv[0]); break;
    case OP_ENV:
      if (exec_envc < MAX_ARGS - 1) exec_env[exec_envc++] = o->argv[0];
      break;
    case OP_ARG:
      if (exec_argc < MAX_ARGS - 1) exec_args[exec_argc++] = o->argv[0];
      break;
    case OP_PRESERVE_FDS: preserve_fds = (int)num(o->argv[0]); break;
    case OP_CONSOLE_SOCKET: do_console_connect(o->argv[0]); break;
    case OP_CONSOLE_SETUP: do_console_setup(o); break;
    case OP_READY:
      resolve_exec();
      send_line("ready");
      break;
    case OP_WAIT_FIFO: wait_fifo(); break;
    case OP_CLOSE_FDS: close_fds(); break;
    case OP_SECCOMP: do_seccomp(o); break;
    case OP_EXEC: do_exec(); break;
    case OP_MKDIR: close(resolve_target(o->argv[0], 0, 0)); break;
    case OP_HOOK: do_hook(o); break;
    case OP_NEW_KEYRING:
      /* A session keyring of its own, so the container cannot read the caller's keys (KEYCTL_JOIN_SESSION_KEYRING). */
      if (syscall(SYS_keyctl, 1, NULL) < 0 && errno != ENOSYS) die("join a new session keyring: %s", strerror(errno));
      break;
    case OP_SYNC_HOOKS: {
      /* prestart/createRuntime hooks run in the runtime's namespaces, now: wait for the caller's go. */
      send_line("hooks");
      char go = 0;
      if (read_full(sync_fd, &go, 1) < 0 || go != 'g') _exit(1);
      break;
    }
    case OP_SETSID:
      if (setsid() < 0 && errno != EPERM) die("setsid: %s", strerror(errno));
      break;
    default:
      die("plan: operation %u is not valid after clone", o->code);
    }
  }
  die("plan ended without exec");
}

/* ---- outer process: join namespaces and cgroups, clone the init, write id maps, report its pid ---- */

/*
 * A network namespace is born with lo down and no address; runc brings it up for every namespace it creates, and
 * programs expect 127.0.0.1 to answer (test servers, sidecars, RUN steps). Bringing lo up assigns 127.0.0.1 and ::1.
 */
static void loopback_up(void) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) die("loopback: socket: %s", strerror(errno));
  struct ifreq ifr;
  memset(&ifr, 0, sizeof(ifr));
  strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) die("loopback: read flags: %s", strerror(errno));
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) die("loopback: bring lo up: %s", strerror(errno));
  close(s);
}

/* Written to a temporary name and renamed: a reader sees no status or the whole one. */
static void write_status_file(const char *path, int code) {
  char tmp[PATH_MAX];
  if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) return;
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return;
  dprintf(fd, "%d\n", code);
  close(fd);
  rename(tmp, path);
}

static pid_t child_pid = 0;

static void forward_signal(int sig) {
  if (child_pid > 0) kill(child_pid, sig);
}

static int write_map(pid_t pid, const char *file, const char *content) {
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/%s", pid, file);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = write(fd, content, strlen(content));
  close(fd);
  return n == (ssize_t)strlen(content) ? 0 : -1;
}

/* ---- joining cgroups without the kernel's grace-period wait ----
 * Writing a pid to cgroup.procs takes the kernel's global threadgroup lock for writing, and the first writer after a
 * quiet spell waits a full RCU grace period for it: 5-25 ms here, more than the rest of a container's start. Two ways
 * in skip that lock. In a v1 hierarchy, "0" written to tasks moves only the calling thread, and this process has no
 * other: it is the same move. In the v2 hierarchy, clone3(CLONE_INTO_CGROUP) creates the container's process in its
 * cgroup (kernel 5.7+); where that is refused, the pid is written as before. */

static int v2_cgroup_fd = -1;
static char v2_procs[PATH_MAX];

/* Write our pid (or "0" into a v1 tasks file: the calling thread) into a cgroup file. */
static void write_own_pid(const char *file, int as_thread) {
  char pid[32];
  snprintf(pid, sizeof(pid), "%d", as_thread ? 0 : getpid());
  int fd = open(file, O_WRONLY | O_CLOEXEC);
  if (fd < 0) die("join cgroup %s: %s", file, strerror(errno));
  if (write(fd, pid, strlen(pid)) < 0) die("join cgroup %s: %s", file, strerror(errno));
  close(fd);
}

static void join_cgroup(const char *procs) {
  size_t len = strlen(procs);
  const char *leaf = "/cgroup.procs";
  size_t leaf_len = strlen(leaf);
  char dir[PATH_MAX], tasks[PATH_MAX + 8];
  if (len <= leaf_len || len - leaf_len >= sizeof(dir) || strcmp(procs + len - leaf_len, leaf) != 0) {
    write_own_pid(procs, 0);
    return;
  }
  memcpy(dir, procs, len - leaf_len);
  dir[len - leaf_len] = 0;
  snprintf(tasks, sizeof(tasks), "%s/tasks", dir);
  if (access(tasks, F_OK) == 0) {
    write_own_pid(tasks, 1);
    return;
  }
  if (v2_cgroup_fd >= 0) {
    write_own_pid(procs, 0);
    return;
  }
  v2_cgroup_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (v2_cgroup_fd < 0) die("join cgroup %s: %s", procs, strerror(errno));
  snprintf(v2_procs, sizeof(v2_procs), "%s", procs);
}

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

struct clone3_args {
  uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};

static pid_t clone_into_cgroup(unsigned long flags) {
  if (v2_cgroup_fd >= 0) {
#ifdef SYS_clone3
    struct clone3_args args = { .flags = flags | CLONE_INTO_CGROUP, .exit_signal = SIGCHLD, .cgroup = (uint64_t)v2_cgroup_fd };
    pid_t pid = (pid_t)syscall(SYS_clone3, &args, sizeof(args));
    if (pid >= 0) return pid;
#endif
    write_own_pid(v2_procs, 0);
  }
  return (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    dprintf(2, "berth-runc-init is run by berth-runc, not by hand\n");
    return 1;
  }
  ensure_sealed_copy(argv);
  sync_fd = atoi(argv[1]);
  mode = argv[2];
  if (fcntl(sync_fd, F_SETFD, FD_CLOEXEC) < 0) {
    sync_fd = -1;
    die("sync fd %s is not open", argv[1]);
  }

  unsigned char lenbuf[4];
  if (read_full(sync_fd, lenbuf, 4) < 0) die("read plan length");
  uint32_t plen = get_u32(lenbuf);
  if (plen > 64 * 1024 * 1024) die("plan too large");
  unsigned char *plan = malloc(plen ? plen : 1);
  if (read_full(sync_fd, plan, plen) < 0) die("read plan");
  size_t n;
  struct op *ops = parse_plan(plan, plen, &n);

  unsigned long clone_flags = 0;
  const char *uid_map = NULL, *gid_map = NULL;
  int deny_setgroups = 0;
  size_t i = 0;
  for (; i < n; i++) {
    struct op *o = &ops[i];
    if (o->code == OP_CLONE) {
      clone_flags = num(o->argv[0]);
      i++;
      break;
    }
    switch (o->code) {
    case OP_SETNS: {
      int fd = open(o->argv[0], O_RDONLY | O_CLOEXEC);
      if (fd < 0) die("open namespace %s: %s", o->argv[0], strerror(errno));
      if (setns(fd, (int)num(o->argv[1])) < 0) die("join namespace %s: %s", o->argv[0], strerror(errno));
      close(fd);
      break;
    }
    case OP_CGROUP_JOIN: join_cgroup(o->argv[0]); break;
    case OP_TIMENS: {
      if (unshare(CLONE_NEWTIME) < 0) die("unshare time namespace: %s", strerror(errno));
      if (*o->argv[0]) write_file("/proc/self/timens_offsets", o->argv[0]);
      break;
    }
    case OP_CONSOLE_SOCKET: do_console_connect(o->argv[0]); break; /* exec: connect while still in the host's mount namespace */
    /* Made by the outer process (host root), so a container root mapped to another uid can still open it. */
    case OP_OPEN_FIFO: open_exec_fifo(o->argv[0]); break;
    case OP_UID_MAP: uid_map = o->argv[0]; break;
    case OP_GID_MAP: gid_map = o->argv[0]; break;
    case OP_DENY_SETGROUPS: deny_setgroups = 1; break;
    default: die("plan: operation %u is not valid before clone", o->code);
    }
  }

  int gate[2];
  if (pipe2(gate, O_CLOEXEC) < 0) die("pipe: %s", strerror(errno));
  pid_t pid = clone_into_cgroup(clone_flags);
  if (pid < 0) die("clone: %s", strerror(errno));
  if (pid == 0) {
    close(gate[1]);
    char go;
    if (read_full(gate[0], &go, 1) < 0) _exit(1); /* parent failed and said so */
    close(gate[0]);
    if (clone_flags & CLONE_NEWUSER) {
      if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) die("become root in user namespace: %s", strerror(errno));
    }
    if (clone_flags & CLONE_NEWNET) loopback_up();
    run_child_ops(ops, n, i);
  }
  close(gate[0]);
  child_pid = pid;
  if (clone_flags & CLONE_NEWUSER) {
    if (deny_setgroups && write_map(pid, "setgroups", "deny") < 0) die("write setgroups: %s", strerror(errno));
    if (uid_map && write_map(pid, "uid_map", uid_map) < 0) die("write uid_map: %s", strerror(errno));
    if (gid_map && write_map(pid, "gid_map", gid_map) < 0) die("write gid_map: %s", strerror(errno));
  }
  send_line("pid %d", pid);
  if (write(gate[1], "1", 1) != 1) die("release init: %s", strerror(errno));
  close(gate[1]);

  if (strcmp(mode, "create") == 0) return 0;

  /* run / exec in the foreground: stay the parent, pass signals on, exit as the process did. */
  int sigs[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT, SIGALRM};
  struct sigaction sa = {0};
  sa.sa_handler = forward_signal;
  for (size_t s = 0; s < sizeof(sigs) / sizeof(sigs[0]); s++) sigaction(sigs[s], &sa, NULL);
  close(sync_fd);
  int status;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return 1;
  }
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 1;
  if (argc > 3) write_status_file(argv[3], code);
  return code;
}
