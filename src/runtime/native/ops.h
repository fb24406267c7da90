/* Plan operation codes. Must match src/runtime/plan/ops.ts (a unit test compares them). */
#ifndef BERTH_RUNC_OPS_H
#define BERTH_RUNC_OPS_H

/* before clone, in the outer process */
#define OP_SETNS 1
#define OP_CGROUP_JOIN 2
#define OP_TIMENS 3
#define OP_UID_MAP 4
#define OP_GID_MAP 5
#define OP_DENY_SETGROUPS 6
#define OP_CLONE 7

/* after clone, in the container's init, in order */
#define OP_ROOT_PROPAGATION 20
#define OP_ROOTFS 21
#define OP_MOUNT 22
#define OP_MKNOD 23
#define OP_SYMLINK 24
#define OP_OPEN_FIFO 25
#define OP_PIVOT_ROOT 26
#define OP_NO_PIVOT 27
#define OP_MASK 28
#define OP_READONLY 29
#define OP_ROOT_READONLY 30
#define OP_SYSCTL 31
#define OP_HOSTNAME 32
#define OP_DOMAINNAME 33
#define OP_RLIMIT 34
#define OP_OOM_SCORE_ADJ 35
#define OP_UMASK 36
#define OP_NO_NEW_PRIVS 37
#define OP_CAP_BOUNDING 38
#define OP_CAPS 39
#define OP_USER 40
#define OP_CWD 41
#define OP_ENV 42
#define OP_ARG 43
#define OP_PRESERVE_FDS 44
#define OP_CONSOLE_SOCKET 45
#define OP_CONSOLE_SETUP 46
#define OP_READY 47
#define OP_WAIT_FIFO 48
#define OP_CLOSE_FDS 49
#define OP_SECCOMP 50
#define OP_EXEC 51
#define OP_SETSID 52
#define OP_MKDIR 53
#define OP_ROOTFS_OVERLAY 54
#define OP_SYNC_HOOKS 55
#define OP_HOOK 56
#define OP_NEW_KEYRING 57

#endif
