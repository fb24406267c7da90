import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BerthError } from '../errors/BerthError.js';
import type { Spec } from '../oci/runtimeSpec.js';
import type { RootfsOverlay } from '../runtime/plan/compilePlan.js';
import { RuntimeClient, type Stdio } from './runtimeClient.js';

/** A rootfs as overlay layers: `lower` top-first, changes go to `upper` (work: overlay's scratch, same filesystem). */
export type OverlayRootfs = RootfsOverlay;

/** A bind mount or tmpfs on top of the rootfs (build cache mounts, secrets, /etc/hosts). */
export interface RootfsMount {
  destination: string;
  type: 'bind' | 'tmpfs';
  source: string;
  options: string[];
}

export interface RunInRootfsOptions {
  /** The container's OCI runtime spec; its root is the `rootfs` given here. */
  spec: Spec;
  /** A directory used as is, or overlay layers mounted inside the container's own mount namespace (berth-runc only). */
  rootfs: string | OverlayRootfs;
  /** stdin, stdout, stderr of the container; default: none, ours, ours. */
  stdio?: Stdio;
  /** Where the runtime keeps container state; default a private directory, removed when the container is. */
  stateRoot?: string;
  /** The container's id (default: random) and bundle directory (default: beside the state; its config.json is the caller's). */
  id?: string;
  bundle?: string;
  /** A runc-CLI runtime (runc, crun); berth-runc in-process when unset. */
  runtime?: string;
  /** Start and return (0) without waiting; `statusFile` then receives the exit status (berth-runc). */
  detach?: boolean;
  statusFile?: string;
  /** Keep the stopped container for the runtime's delete (berth run without --rm); default: removed. */
  keep?: boolean;
  /** The runtime sends the pseudo-terminal's master here (process.terminal). */
  consoleSocket?: string;
  /** Aborting kills the container (SIGKILL to every process): a build being interrupted. */
  signal?: AbortSignal;
}

/**
 * Run a container on a rootfs and return its exit status: the one runtime-neutral call under `berth run` (detached,
 * on a terminal, with another runtime) and the Dockerfile builder's RUN (overlay layers of the stage).
 */
export async function runInRootfs(options: RunInRootfsOptions): Promise<number> {
  const overlay = typeof options.rootfs === 'string' ? undefined : options.rootfs;
  if (overlay && options.runtime) throw new BerthError('NOT_IMPLEMENTED', `${options.runtime} takes a rootfs directory; overlay layers are mounted by berth-runc only`);
  const scratch = options.stateRoot && options.bundle ? undefined : mkdtempSync(join(options.stateRoot ?? tmpdir(), '.berth-run-'));
  try {
    const root = options.stateRoot ?? join(scratch!, 'state');
    const bundle = options.bundle ?? join(scratch!, 'bundle');
    mkdirSync(join(bundle, 'rootfs'), { recursive: true });
    const spec: Spec = { ...options.spec, root: { path: overlay ? join(bundle, 'rootfs') : (options.rootfs as string), readonly: options.spec.root?.readonly ?? false } };
    // An external runtime reads the bundle; berth-runc takes the spec as it is.
    if (options.runtime) writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec, null, 2));
    const client = new RuntimeClient(root, options.runtime);
    const id = options.id ?? `run-${randomBytes(8).toString('hex')}`;
    // A container's init ignores SIGTERM unless it handles it; an interrupted build must not wait for it.
    const kill = () => void client.kill(id, 'KILL', true).catch(() => undefined);
    options.signal?.addEventListener('abort', kill, { once: true });
    return await client
      .run(id, bundle, {
        spec,
        detach: options.detach === true,
        keep: options.keep === true,
        stdio: options.stdio ?? ['ignore', 1, 2],
        ...(overlay ? { rootfsOverlay: overlay } : {}),
        ...(options.consoleSocket ? { consoleSocket: options.consoleSocket } : {}),
        ...(options.statusFile ? { statusFile: options.statusFile } : {}),
      })
      .finally(() => options.signal?.removeEventListener('abort', kill));
  } finally {
    if (scratch && !options.detach && !options.keep) rmSync(scratch, { recursive: true, force: true });
  }
}
