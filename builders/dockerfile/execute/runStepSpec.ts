import { defaultRuntimeSpec, type RuntimeSpec } from '../../../src/bundle/runtimeSpec.js';
import type { RootfsMount } from '../../../src/run/runInRootfs.js';

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
 * The container a RUN step runs in (`--isolation container`): runc's defaults with the build capabilities, no
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
