import type { Readable } from 'node:stream';
import { BerthError } from '../errors/BerthError.js';
import { layerEntries, textPath, walkTree, type TreeEntry } from './fileTree.js';
import { writeTar, type LayerEntry, type TarWriterOptions } from './tarWriter.js';
import { opaqueMember, whiteoutMember } from './whiteout.js';

export interface OverlayLayerOptions extends TarWriterOptions {
  /**
   * Leave a path out of the layer (a layer path without a leading "/", e.g.
   * "etc/resolv.conf" when the runtime created it only as a mount point); a
   * directory goes with everything under it, and a deletion of the path is dropped too.
   */
  exclude?: (layerPath: string) => boolean;
  /** The mount used `userxattr`: overlay kept its bookkeeping in user.overlay.* rather than trusted.overlay.*. */
  userxattr?: boolean;
}

/**
 * The layer an overlayfs upper directory stands for, once the overlay is
 * unmounted: every entry with its type, mode, owner, mtime, carried xattrs
 * (security.capability included), symlink target and hardlinks; overlay's
 * whiteouts (0/0 character devices, or empty files marked overlay.whiteout)
 * become `.wh.NAME` members; a directory marked overlay.opaque=y becomes the
 * directory, an opaque marker and its new contents.
 *
 * The mount must not use redirect_dir or metacopy (mount with
 * redirect_dir=nofollow,metacopy=off, as berth's executor does; "off" still
 * follows old redirects and conflicts with userxattr): a renamed lower
 * directory or a metadata-only copy-up leaves the data in the lower layer,
 * where a tar cannot point. Such an upper is refused, not turned into a
 * layer that silently lacks files. The upper's own root is not an entry:
 * overlay keeps its attributes for the merged root, and the applier leaves
 * the root of an image alone.
 */
export function overlayUpperLayer(upperDir: string, options: OverlayLayerOptions = {}): Readable {
  return writeTar(overlayEntries(upperDir, options), options);
}

async function overlayEntries(upperDir: string, options: OverlayLayerOptions): Promise<LayerEntry[]> {
  const own = options.userxattr ? 'user.overlay.' : 'trusted.overlay.';
  const exclude = options.exclude;
  const found = await walkTree(upperDir, { xattrs: true, ...(exclude ? { skip: (rel: string) => exclude(textPath(rel)) } : {}) });
  const kept: TreeEntry[] = [];
  const markers: LayerEntry[] = [];
  for (const entry of found) {
    const flag = (name: string): Buffer | undefined => entry.xattrs.get(own + name);
    if (flag('redirect') || flag('metacopy')) {
      throw new BerthError(
        'UNSUPPORTED',
        `${textPath(entry.rel)} in ${upperDir} was written by an overlay mount with redirect_dir or metacopy, which a layer cannot express (mount with redirect_dir=nofollow,metacopy=off)`,
      );
    }
    if (isWhiteout(entry, flag)) {
      markers.push(whiteoutMember(entry.rel));
      continue;
    }
    kept.push(entry);
    if (entry.st.isDirectory() && flag('opaque')?.toString('latin1') === 'y') markers.push(opaqueMember(entry.rel));
  }
  return [...layerEntries(kept), ...markers];
}

/** Overlay's whiteout: a 0/0 character device, or (kernels ≥ 6.7 in layered setups) an empty file marked overlay.whiteout. */
function isWhiteout(entry: TreeEntry, flag: (name: string) => Buffer | undefined): boolean {
  if (entry.st.isCharacterDevice()) return entry.st.rdev === 0n;
  return entry.st.isFile() && entry.st.size === 0n && flag('whiteout') !== undefined;
}
