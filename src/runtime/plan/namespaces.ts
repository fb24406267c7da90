import { BerthError } from '../../errors/BerthError.js';

/** OCI namespace type → clone(2) flag and the name under /proc/PID/ns/. */
export const namespaceKinds: Record<string, { flag: number; proc: string }> = {
  pid: { flag: 0x20000000, proc: 'pid' },
  network: { flag: 0x40000000, proc: 'net' },
  ipc: { flag: 0x08000000, proc: 'ipc' },
  uts: { flag: 0x04000000, proc: 'uts' },
  mount: { flag: 0x00020000, proc: 'mnt' },
  user: { flag: 0x10000000, proc: 'user' },
  cgroup: { flag: 0x02000000, proc: 'cgroup' },
  time: { flag: 0x00000080, proc: 'time' },
};

export function namespaceKind(type: string): { flag: number; proc: string } {
  const kind = namespaceKinds[type];
  if (!kind) throw new BerthError('CONFIG_INVALID', `config.json: linux.namespaces: unknown type "${type}"`);
  return kind;
}

/** The order to join existing namespaces in: user first (it owns the others), mount last. */
export const joinOrder = ['user', 'ipc', 'uts', 'network', 'pid', 'cgroup', 'time', 'mount'];
