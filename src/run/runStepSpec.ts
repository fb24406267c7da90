import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultRuntimeSpec, type RuntimeSpec } from '../bundle/runtimeSpec.js';
import type { RootfsMount } from './runInRootfs.js';

/** podman's and buildah's default set for a build step: chown, setuid, package managers work. */
const BUILD_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_NET_BIND_SERVICE',
  'CAP_SETFCAP', 'CAP_SETGID', 'CAP_SETPCAP', 'CAP_SETUID', 'CAP_SYS_CHROOT',
];

export interface StepProcess {
  args: string[];
  env: string[];
  cwd: string;
  uid: number;
  gid: number;
  additionalGids?: number[];
}

/**
 * The container a build step runs in (a Dockerfile's RUN with `--isolation container`, a package's install script): runc's defaults with the build capabilities, no
 * no_new_privileges (setuid programs of the image work), the step's network (none: a namespace of its own with
 * loopback; host: the build's) and its mounts on top.
 */
export function runStepSpec(process: StepProcess, network: 'none' | 'host', mounts: RootfsMount[], hostname = 'berth'): RuntimeSpec {
  const spec = defaultRuntimeSpec();
  spec.process = {
    ...spec.process,
    args: process.args,
    env: process.env,
    cwd: process.cwd,
    user: { uid: process.uid, gid: process.gid, ...(process.additionalGids?.length ? { additionalGids: process.additionalGids } : {}) },
    capabilities: { bounding: BUILD_CAPABILITIES, effective: BUILD_CAPABILITIES, permitted: BUILD_CAPABILITIES, ambient: [] },
    noNewPrivileges: false,
  };
  spec.root = { path: 'rootfs', readonly: false };
  spec.hostname = hostname;
  if (network === 'host') {
    spec.linux.namespaces = spec.linux.namespaces.filter((n) => n.type !== 'network');
    spec.mounts = spec.mounts.map((m) => (m.destination === '/sys' ? { destination: '/sys', type: 'bind', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] } : m));
  }
  spec.mounts.push(...mounts);
  return spec;
}

/**
 * /etc/hosts naming localhost (written into `dir`), and with the build's network its resolv.conf, mounted over the
 * image's own: a base image's files may name neither.
 */
export function networkFileMounts(dir: string, network: 'none' | 'host'): RootfsMount[] {
  const hostsFile = join(dir, 'hosts');
  writeFileSync(hostsFile, '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n');
  const mounts: RootfsMount[] = [{ destination: '/etc/hosts', type: 'bind', source: hostsFile, options: ['rbind', 'ro'] }];
  if (network === 'host' && existsSync('/etc/resolv.conf')) mounts.push({ destination: '/etc/resolv.conf', type: 'bind', source: '/etc/resolv.conf', options: ['rbind', 'ro'] });
  return mounts;
}
