import { lstatSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { applyLayer } from '../../../../src/layer/applyLayer.js';
import { layerEntries, walkTree } from '../../../../src/layer/fileTree.js';
import { KeptPaths } from '../../../../src/layer/keptPaths.js';
import type { NewLayer } from '../../../../src/layer/newLayer.js';
import { writeTar } from '../../../../src/layer/tarWriter.js';

/** What a build in place never replaces, besides mount points: kaniko's own list. */
const ALWAYS_KEPT = ['proc', 'sys', 'dev', 'etc/mtab'];

/**
 * The paths of this container a build in place must leave alone: every mount point (the pod's /etc/hosts, volumes,
 * the context, secrets, service-account tokens), the kernel filesystems, and the caller's own (berth's install,
 * data and cache directories, --ignore-path).
 */
export function containerKeptPaths(extra: readonly string[]): KeptPaths {
  const mounts: string[] = [];
  try {
    for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
      const point = line.split(' ')[4];
      // mountinfo escapes space, tab, newline and backslash as octal.
      if (point) mounts.push(point.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8))));
    }
  } catch {
    // Without /proc the fixed list and the caller's paths still hold.
  }
  return new KeptPaths([...ALWAYS_KEPT, ...mounts, ...extra].map((p) => Buffer.from(p, 'utf8').toString('latin1')));
}

/** Remove everything under `root` but the kept paths (the directories above a kept path stay, emptied of the rest). */
export function clearRoot(root: string, keep: KeptPaths, rel = ''): void {
  for (const name of readdirSync(Buffer.from(rel === '' ? root : join(root, rel), 'latin1'), { encoding: 'buffer' })) {
    const child = rel === '' ? name.toString('latin1') : `${rel}/${name.toString('latin1')}`;
    if (keep.isKept(child)) continue;
    const abs = Buffer.from(join(root, child), 'latin1');
    if (keep.holdsKept(child) && lstatSync(abs).isDirectory()) clearRoot(root, keep, child);
    else rmSync(abs, { recursive: true, force: true });
  }
}

/** Apply a built layer (a step's result from the cache, a COPY's staged files) to the root, around the kept paths. */
export async function applyLayerInPlace(layer: NewLayer, root: string, keep: KeptPaths): Promise<void> {
  await applyLayer(root, await layer.open(), { keep, devices: true });
}

/**
 * Copy a tree with owners, modes, times and links: a finished stage's files saved for a later stage's COPY --from or
 * FROM (kept paths of the root left out), or put back onto the root (kept paths of the root left alone).
 */
export async function copyTree(from: string, to: string, options: { skip?: KeptPaths; keep?: KeptPaths } = {}): Promise<void> {
  const { skip, keep } = options;
  const entries = await walkTree(from, skip ? { skip: (rel) => skip.isKept(rel) } : {});
  await applyLayer(to, writeTar(layerEntries(entries)), { devices: true, ...(keep ? { keep } : {}) });
}
