import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, lstatSync, mkdirSync, renameSync, rmdirSync, rmSync, symlinkSync } from 'node:fs';
import { constants } from 'node:os';
import { dirname, join } from 'node:path';
import { BerthError } from '../../../../src/errors/BerthError.js';
import type { KeptPaths } from '../../../../src/layer/keptPaths.js';
import type { RootfsMount } from '../../../../src/run/runInRootfs.js';


export interface RunInPlaceOptions {
  /** The root the step runs in: "/" for a build in the container's own root (kaniko mode). */
  root: string;
  keep: KeptPaths;
  /** berth's chroot helper: the process is chrooted into `root` (else it runs directly, `root` being "/"). */
  chroot?: string;
  process: { args: string[]; env: string[]; cwd: string; uid: number; gid: number; additionalGids?: number[] };
  mounts: RootfsMount[];
  stdio: [number | 'ignore', number | 'ignore', number | 'ignore'];
  signal?: AbortSignal;
}

/** A mount put in place by moving or copying, and how to take it away again. */
interface PlacedMount {
  /** Root-relative path of the mount target (left out of the step's snapshot). */
  target: string;
  undo: () => void;
}

/**
 * Run one RUN process directly in the root, where no mount or namespace can be made (an unprivileged pod). Mounts
 * are emulated: a cache directory is moved onto its target and back (a symlink when it lives on another
 * filesystem), secrets, heredoc inputs and read-only binds are copied in and removed, a tmpfs is an empty directory;
 * whatever was at a target is set aside and put back. The caller leaves `result.targets` out of the snapshot.
 */
export async function runInPlace(options: RunInPlaceOptions): Promise<{ status: number; targets: string[] }> {
  const placed: PlacedMount[] = [];
  try {
    for (const mount of options.mounts) placed.push(placeMount(options.root, mount, options.keep));
    const cwd = join(options.root, options.process.cwd);
    mkdirSync(cwd, { recursive: true });
    const status = await spawnStep(options, cwd);
    return { status, targets: placed.map((p) => p.target) };
  } finally {
    for (const p of placed.reverse()) p.undo();
  }
}

function placeMount(root: string, mount: RootfsMount, keep: KeptPaths): PlacedMount {
  const target = mount.destination.replace(/^\/+|\/+$/g, '');
  const abs = join(root, target);
  // Inside a kept path (heredoc files under /dev/pipes) a target may be made, never one that is there already.
  if (target === '' || keep.holdsKept(target) || (keep.isKept(target) && (existsSync(abs) || isSymlink(abs)))) {
    throw new BerthError('UNSUPPORTED', `RUN --mount target ${mount.destination} is a path this build keeps (a mount point of the container); choose another target`);
  }
  const madeParents = makeParents(root, dirname(target));
  // Set aside beside the target: same directory, same filesystem, so a rename always works.
  const aside = existsSync(abs) || isSymlink(abs) ? join(dirname(abs), `.berth-aside-${randomBytes(6).toString('hex')}`) : undefined;
  if (aside) renameSync(abs, aside);
  const restore = () => {
    rmSync(abs, { recursive: true, force: true });
    if (aside) renameSync(aside, abs);
    for (const dir of madeParents.reverse()) rmdirSync(dir);
  };
  try {
    if (mount.type === 'tmpfs') {
      mkdirSync(abs, { mode: 0o1777 });
      return { target, undo: restore };
    }
    const readWrite = mount.options.includes('rw');
    const source = lstatSync(mount.source);
    // A rw directory is moved in and back; so is a socket (an ssh agent's proxy), which cannot be copied.
    if ((readWrite && source.isDirectory()) || source.isSocket()) {
      try {
        renameSync(mount.source, abs);
        return { target, undo: () => { renameSync(abs, mount.source); restore(); } };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
        symlinkSync(mount.source, abs);
        return { target, undo: restore };
      }
    }
    cpSync(mount.source, abs, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
    return { target, undo: restore };
  } catch (err) {
    restore();
    throw err;
  }
}

function isSymlink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/** Create the missing directories of `rel` under root; returns them, outermost first, to remove afterwards. */
function makeParents(root: string, rel: string): string[] {
  const made: string[] = [];
  let path = root;
  for (const part of rel.split('/').filter((p) => p !== '' && p !== '.')) {
    path = join(path, part);
    if (existsSync(path)) continue;
    mkdirSync(path, { mode: 0o755 });
    made.push(path);
  }
  return made;
}

function spawnStep(options: RunInPlaceOptions, cwd: string): Promise<number> {
  const { env, uid, gid } = options.process;
  // In a chroot the helper changes root, directory and ids itself; here the step's ids stay root's until it does.
  const args = options.chroot
    ? [options.chroot, options.root, options.process.cwd, String(uid), String(gid), (options.process.additionalGids ?? []).join(','), '--', ...options.process.args]
    : options.process.args;
  const environment = Object.fromEntries(env.map((kv) => {
    const eq = kv.indexOf('=');
    return eq < 0 ? [kv, ''] : [kv.slice(0, eq), kv.slice(eq + 1)];
  }));
  return new Promise((resolve, reject) => {
    const child = spawn(args[0]!, args.slice(1), { cwd, env: environment, ...(options.chroot ? {} : { uid, gid }), stdio: options.stdio, detached: true });
    const kill = () => {
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
    };
    options.signal?.addEventListener('abort', kill, { once: true });
    child.on('error', (err: NodeJS.ErrnoException) => {
      options.signal?.removeEventListener('abort', kill);
      if (err.code === 'ENOENT') resolve(127);
      else if (err.code === 'EACCES') resolve(126);
      else reject(new BerthError('RUNTIME_ERROR', `cannot start ${args[0]}: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      options.signal?.removeEventListener('abort', kill);
      resolve(code ?? 128 + (signal ? (constants.signals[signal] ?? 9) : 9));
    });
  });
}
