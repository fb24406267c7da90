import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { defaultRuntimeSpec, type RuntimeSpec } from '../bundle/runtimeSpec.js';

/** A rootfs as overlay layers: `lower` top-first, changes go to `upper` (work: overlay's scratch, same filesystem). */
export interface OverlayRootfs {
  lower: string[];
  upper: string;
  work: string;
}

/** A bind mount or tmpfs on top of the rootfs (build cache mounts, secrets, /etc/hosts). */
export interface RootfsMount {
  destination: string;
  type: 'bind' | 'tmpfs';
  source: string;
  options: string[];
}

export interface RunInRootfsOptions {
  /** A directory used as is, or overlay layers mounted inside the container's own mount namespace. */
  rootfs: string | OverlayRootfs;
  process: {
    args: string[];
    env: string[];
    cwd: string;
    uid: number;
    gid: number;
    additionalGids?: number[];
  };
  /** none: a network namespace of its own (loopback only); host: the caller's network. */
  network: 'none' | 'host';
  mounts?: RootfsMount[];
  hostname?: string;
  /** stdin, stdout, stderr of the process (file descriptors or 'ignore'); default: none, ours, ours. */
  stdio?: [number | 'ignore', number | 'ignore', number | 'ignore'];
  /** Where the runtime keeps its state while the process runs (a private temp directory when unset). */
  stateRoot?: string;
  /** Aborting kills the container (SIGKILL to every process): a build being interrupted. */
  signal?: AbortSignal;
}

/**
 * Run one process in a rootfs and return its exit status: the runtime-neutral call under `berth run` and the
 * Dockerfile builder's RUN. The container gets the capabilities a build step expects (podman's and buildah's
 * default set: chown, setuid, package managers work) and is removed when the process ends.
 */
export async function runInRootfs(options: RunInRootfsOptions): Promise<number> {
  const scratch = mkdtempSync(join(options.stateRoot ?? '/tmp', '.berth-run-'));
  try {
    const bundle = join(scratch, 'bundle');
    mkdirSync(join(bundle, 'rootfs'), { recursive: true });
    const overlay = typeof options.rootfs === 'string' ? undefined : options.rootfs;
    const spec = containerSpec(options, overlay ? join(bundle, 'rootfs') : (options.rootfs as string));
    const { runContainer } = await import('../runtime/lifecycle/run.js');
    const root = join(scratch, 'state');
    const id = `run-${randomBytes(8).toString('hex')}`;
    // A container's init ignores SIGTERM unless it handles it; an interrupted build must not wait for it.
    const kill = () => {
      void import('../runtime/lifecycle/kill.js').then(({ killContainer }) => killContainer(root, id, 'KILL', true)).catch(() => undefined);
    };
    options.signal?.addEventListener('abort', kill, { once: true });
    return await runContainer({
      root,
      id,
      bundle,
      spec,
      stdio: [...(options.stdio ?? ['ignore', 1, 2])],
      ...(overlay ? { rootfsOverlay: overlay } : {}),
      keep: false,
    }).finally(() => options.signal?.removeEventListener('abort', kill));
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

const BUILD_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_NET_BIND_SERVICE',
  'CAP_SETFCAP', 'CAP_SETGID', 'CAP_SETPCAP', 'CAP_SETUID', 'CAP_SYS_CHROOT',
];

function containerSpec(options: RunInRootfsOptions, rootPath: string): RuntimeSpec {
  const spec = defaultRuntimeSpec();
  const p = options.process;
  spec.process = {
    ...spec.process,
    args: p.args,
    env: p.env,
    cwd: p.cwd,
    user: { uid: p.uid, gid: p.gid, ...(p.additionalGids?.length ? { additionalGids: p.additionalGids } : {}) },
    capabilities: { bounding: BUILD_CAPABILITIES, effective: BUILD_CAPABILITIES, permitted: BUILD_CAPABILITIES, ambient: [] },
    noNewPrivileges: false,
  };
  spec.root = { path: rootPath, readonly: false };
  spec.hostname = options.hostname ?? 'berth';
  if (options.network === 'host') {
    spec.linux.namespaces = spec.linux.namespaces.filter((n) => n.type !== 'network');
    spec.mounts = spec.mounts.map((m) => (m.destination === '/sys' ? { destination: '/sys', type: 'bind', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] } : m));
  }
  spec.mounts.push(...(options.mounts ?? []));
  return spec;
}
