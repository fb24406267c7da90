import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBerthImage } from '../../image/buildBerthImage.js';
import { defaultRuntimeSpec, type RuntimeSpec } from '../../src/bundle/runtimeSpec.js';
import { unpackImage } from '../../src/bundle/unpackImage.js';
import '../../src/transports/allTransports.js';
import { parseImageReference } from '../../src/transports/transportRegistry.js';
import { berthRuncBin } from './peers.js';
import { run, type RunResult } from './runCli.js';

/** Docker's default capability set, which a Kubernetes pod gets unless it asks otherwise: no SYS_ADMIN, no NET_ADMIN. */
export const POD_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];

export interface Pod {
  /** Run `berth ARGS` in a fresh pod-like container; `binds` are host directories mounted at container paths. */
  berth(args: string[], options?: { binds?: Record<string, string>; env?: Record<string, string>; entrypoint?: string[]; capabilities?: string[]; rootFilesystem?: 'overlay' | 'tmpfs' }): Promise<RunResult>;
}

let imageRootfs: Promise<{ rootfs: string; spec: RuntimeSpec }> | undefined;

/** berth's own image (`npm run image`), built once per test process from this build and unpacked. */
function berthImageRootfs(): Promise<{ rootfs: string; spec: RuntimeSpec }> {
  imageRootfs ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-own-image-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    const { reference } = await buildBerthImage(join(dir, 'layout'));
    const source = await parseImageReference(reference).newSource();
    try {
      const { spec } = await unpackImage(source, join(dir, 'bundle'));
      return { rootfs: join(dir, 'bundle', 'rootfs'), spec };
    } finally {
      await source.close();
    }
  })();
  return imageRootfs;
}

/**
 * A pod-like container running berth's own image (built by berth, as `npm run image` builds it): its root an
 * overlay of the image's files (or a tmpfs holding a copy, for a root that looks like a host's), the host network, pid/ipc/uts/mount namespaces, Docker's default capabilities and
 * no_new_privileges, as Kubernetes runs a pod by default. Each call gets a new root: a build in place replaces it.
 * The runtime is berth-runc or runc.
 */
export function podContainer(dir: string, runtime = berthRuncBin): Pod {
  let count = 0;
  return {
    async berth(args, options = {}) {
      const image = await berthImageRootfs();
      const bundle = join(dir, `pod-${count++}`);
      const rootfs = join(bundle, 'rootfs');
      for (const d of [rootfs, join(bundle, 'upper'), join(bundle, 'work')]) mkdirSync(d, { recursive: true });
      if (options.rootFilesystem === 'tmpfs') {
        // A root that is a filesystem of its own, as a host's is: nothing tells a container from it.
        execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', rootfs]);
        execFileSync('cp', ['-a', `${image.rootfs}/.`, rootfs]);
      } else {
        // As containerd and Docker give a container its root: an overlay of the image's files.
        execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${image.rootfs},upperdir=${join(bundle, 'upper')},workdir=${join(bundle, 'work')}`, rootfs]);
      }
      const spec = defaultRuntimeSpec();
      spec.root = { path: 'rootfs', readonly: false };
      spec.hostname = 'pod';
      spec.process = {
        ...spec.process,
        args: [...(options.entrypoint ?? image.spec.process.args), ...args],
        env: [...image.spec.process.env, 'HOME=/root', 'BERTH_ROOT=/berth-data', ...Object.entries(options.env ?? {}).map(([k, v]) => `${k}=${v}`)],
        cwd: '/',
        capabilities: ((caps) => ({ bounding: caps, effective: caps, permitted: caps, ambient: [] }))(options.capabilities ?? POD_CAPABILITIES),
        noNewPrivileges: true,
      };
      spec.linux.namespaces = spec.linux.namespaces.filter((n) => n.type !== 'network');
      spec.mounts = spec.mounts.map((m) => (m.destination === '/sys' ? { destination: '/sys', type: 'bind', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] } : m));
      for (const [target, source] of Object.entries(options.binds ?? {})) {
        mkdirSync(join(bundle, 'rootfs', target), { recursive: true });
        spec.mounts.push({ destination: target, type: 'bind', source, options: ['rbind', 'rw'] });
      }
      writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec));
      const id = `pod-${process.pid}-${count}`;
      const runtimeArgs = ['--root', join(dir, 'runtime-state'), 'run', '--bundle', bundle, id];
      try {
        return await (runtime.endsWith('.js') ? run(process.execPath, [runtime, ...runtimeArgs], { timeoutMs: 300_000 }) : run(runtime, runtimeArgs, { timeoutMs: 300_000 }));
      } finally {
        execFileSync('umount', ['-l', rootfs]);
      }
    },
  };
}
