import type { CapabilitySet, IdMapping, LinuxSpec, MountSpec, ProcessSpec, Spec } from '../oci/runtimeSpec.js';

export type { IdMapping } from '../oci/runtimeSpec.js';

/**
 * A config.json as unpack writes it: the one runtime-spec type (src/oci/runtimeSpec.ts) with the parts
 * `runc spec` always fills in made required, so the code that adjusts them needs no checks.
 */
export interface RuntimeSpec extends Spec {
  process: ProcessSpec & { terminal: boolean; env: string[]; capabilities: Record<Exclude<CapabilitySet, 'inheritable'>, string[]>; rlimits: { type: string; hard: number; soft: number }[]; noNewPrivileges: boolean };
  root: { path: string; readonly: boolean };
  hostname: string;
  mounts: MountSpec[];
  linux: LinuxSpec & { namespaces: { type: string; path?: string }[]; maskedPaths: string[]; readonlyPaths: string[] };
}

const RUNTIME_SPEC_VERSION = '1.0.2';
const DEFAULT_CAPS = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];

/** What `runc spec` writes (runc 1.1), except the terminal, which unpacked images leave off. */
export function defaultRuntimeSpec(): RuntimeSpec {
  return {
    ociVersion: RUNTIME_SPEC_VERSION,
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: ['sh'],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
      cwd: '/',
      capabilities: { bounding: [...DEFAULT_CAPS], effective: [...DEFAULT_CAPS], permitted: [...DEFAULT_CAPS], ambient: [...DEFAULT_CAPS] },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: true },
    hostname: 'runc',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
    ],
    linux: {
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }],
      maskedPaths: [
        '/proc/acpi',
        '/proc/asound',
        '/proc/kcore',
        '/proc/keys',
        '/proc/latency_stats',
        '/proc/timer_list',
        '/proc/timer_stats',
        '/proc/sched_debug',
        '/sys/firmware',
        '/proc/scsi',
      ],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
}

/**
 * Turn a spec into one for a user namespace, as `runc spec --rootless` does:
 * id mappings, a user namespace, no network namespace (an unprivileged user
 * cannot configure one), no devpts gid, /sys bind-mounted instead of a new
 * sysfs, and no device cgroup rules.
 */
export function applyUserNamespace(spec: RuntimeSpec, uidMappings: IdMapping[], gidMappings: IdMapping[], options: { keepNetwork?: boolean } = {}): void {
  spec.linux.uidMappings = uidMappings;
  spec.linux.gidMappings = gidMappings;
  if (!spec.linux.namespaces.some((ns) => ns.type === 'user')) spec.linux.namespaces.push({ type: 'user' });
  if (!options.keepNetwork) spec.linux.namespaces = spec.linux.namespaces.filter((ns) => ns.type !== 'network');
  delete spec.linux.resources;
  for (const mount of spec.mounts) {
    if (mount.destination === '/dev/pts') mount.options = (mount.options ?? []).filter((o) => o !== 'gid=5');
    if (mount.destination === '/sys') {
      mount.type = 'none';
      mount.source = '/sys';
      mount.options = ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'];
    }
  }
  spec.mounts = spec.mounts.filter((m) => m.destination !== '/sys/fs/cgroup');
}
