import { BerthError } from '../../errors/BerthError.js';

export const MS = {
  RDONLY: 1, NOSUID: 2, NODEV: 4, NOEXEC: 8, SYNCHRONOUS: 16, REMOUNT: 32, MANDLOCK: 64, DIRSYNC: 128,
  NOSYMFOLLOW: 256, NOATIME: 1024, NODIRATIME: 2048, BIND: 4096, MOVE: 8192, REC: 16384, SILENT: 32768,
  UNBINDABLE: 1 << 17, PRIVATE: 1 << 18, SLAVE: 1 << 19, SHARED: 1 << 20, RELATIME: 1 << 21,
  STRICTATIME: 1 << 24, LAZYTIME: 1 << 25,
} as const;

/** option → [clear, set] on the mount flags */
const flagOptions: Record<string, [number, number]> = {
  defaults: [0, 0],
  ro: [0, MS.RDONLY], rw: [MS.RDONLY, 0],
  suid: [MS.NOSUID, 0], nosuid: [0, MS.NOSUID],
  dev: [MS.NODEV, 0], nodev: [0, MS.NODEV],
  exec: [MS.NOEXEC, 0], noexec: [0, MS.NOEXEC],
  sync: [0, MS.SYNCHRONOUS], async: [MS.SYNCHRONOUS, 0],
  dirsync: [0, MS.DIRSYNC],
  remount: [0, MS.REMOUNT],
  mand: [0, MS.MANDLOCK], nomand: [MS.MANDLOCK, 0],
  atime: [MS.NOATIME, 0], noatime: [0, MS.NOATIME],
  diratime: [MS.NODIRATIME, 0], nodiratime: [0, MS.NODIRATIME],
  bind: [0, MS.BIND], rbind: [0, MS.BIND | MS.REC],
  relatime: [0, MS.RELATIME], norelatime: [MS.RELATIME, 0],
  strictatime: [0, MS.STRICTATIME], nostrictatime: [MS.STRICTATIME, 0],
  lazytime: [0, MS.LAZYTIME], nolazytime: [MS.LAZYTIME, 0],
  nosymfollow: [0, MS.NOSYMFOLLOW], symfollow: [MS.NOSYMFOLLOW, 0],
  silent: [0, MS.SILENT], loud: [MS.SILENT, 0],
};

const propagationOptions: Record<string, number> = {
  private: MS.PRIVATE, rprivate: MS.PRIVATE | MS.REC,
  shared: MS.SHARED, rshared: MS.SHARED | MS.REC,
  slave: MS.SLAVE, rslave: MS.SLAVE | MS.REC,
  unbindable: MS.UNBINDABLE, runbindable: MS.UNBINDABLE | MS.REC,
};

/** Recursive attribute options need mount_setattr, which this runtime does not drive yet. */
const unsupported = new Set(['rro', 'rrw', 'rnosuid', 'rsuid', 'rnodev', 'rdev', 'rnoexec', 'rexec', 'rnoatime', 'ratime', 'rnodiratime', 'rdiratime', 'rrelatime', 'rnorelatime', 'rstrictatime', 'rnostrictatime', 'rnosymfollow', 'rsymfollow', 'idmap', 'ridmap', 'tmpcopyup']);

export interface ParsedMountOptions {
  flags: number;
  propagation: number;
  data: string;
}

export function parseMountOptions(options: string[]): ParsedMountOptions {
  let flags = 0;
  let propagation = 0;
  const data: string[] = [];
  for (const option of options) {
    const flag = flagOptions[option];
    if (flag) {
      flags = (flags & ~flag[0]) | flag[1];
      continue;
    }
    const prop = propagationOptions[option];
    if (prop !== undefined) {
      propagation |= prop;
      continue;
    }
    if (unsupported.has(option)) throw new BerthError('UNSUPPORTED', `mount option "${option}" is not supported by berth-runc`);
    data.push(option);
  }
  return { flags, propagation, data: data.join(',') };
}

export function propagationFlag(mode: string): number {
  const flag = propagationOptions[mode];
  if (flag === undefined) throw new BerthError('CONFIG_INVALID', `config.json: unknown propagation "${mode}"`);
  return flag;
}
