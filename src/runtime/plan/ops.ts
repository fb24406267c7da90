/** Plan operation codes; must match src/runtime/native/ops.h (test/runtime/planOps.test.ts compares them). */
export const Op = {
  SETNS: 1,
  CGROUP_JOIN: 2,
  TIMENS: 3,
  UID_MAP: 4,
  GID_MAP: 5,
  DENY_SETGROUPS: 6,
  CLONE: 7,
  ROOT_PROPAGATION: 20,
  ROOTFS: 21,
  MOUNT: 22,
  MKNOD: 23,
  SYMLINK: 24,
  OPEN_FIFO: 25,
  PIVOT_ROOT: 26,
  NO_PIVOT: 27,
  MASK: 28,
  READONLY: 29,
  ROOT_READONLY: 30,
  SYSCTL: 31,
  HOSTNAME: 32,
  DOMAINNAME: 33,
  RLIMIT: 34,
  OOM_SCORE_ADJ: 35,
  UMASK: 36,
  NO_NEW_PRIVS: 37,
  CAP_BOUNDING: 38,
  CAPS: 39,
  USER: 40,
  CWD: 41,
  ENV: 42,
  ARG: 43,
  PRESERVE_FDS: 44,
  CONSOLE_SOCKET: 45,
  CONSOLE_SETUP: 46,
  READY: 47,
  WAIT_FIFO: 48,
  CLOSE_FDS: 49,
  SECCOMP: 50,
  EXEC: 51,
  SETSID: 52,
  MKDIR: 53,
  ROOTFS_OVERLAY: 54,
  SYNC_HOOKS: 55,
  HOOK: 56,
  NEW_KEYRING: 57,
} as const;

export type OpName = keyof typeof Op;

/** One step of the plan: an operation and its arguments (strings, or raw bytes such as seccomp BPF). */
export interface PlanStep {
  op: OpName;
  args: (string | Uint8Array)[];
}
