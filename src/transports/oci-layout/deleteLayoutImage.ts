import { rm } from 'node:fs/promises';
import { BerthError } from '../../errors/BerthError.js';
import type { Descriptor } from '../../oci/descriptor.js';
import type { Digest } from '../../oci/digest.js';
import { OciLayout, REF_NAME } from './OciLayout.js';

export interface DeletedImage {
  /** The index.json entries removed. */
  removed: Descriptor[];
  /** Blobs deleted because no remaining image referenced them. */
  blobsDeleted: Digest[];
}

/**
 * Remove the entries tagged `tag` (or, for a digest, every entry with that
 * digest) and then the blobs only they referenced, all under the layout lock.
 * Blobs that nothing referenced before are left alone: they may belong to a
 * copy that has not committed yet.
 */
export async function deleteLayoutImage(layout: OciLayout, selector: { tag?: string; digest?: Digest }, where: string): Promise<DeletedImage> {
  return layout.updateIndex(async (index) => {
    const matches = (m: Descriptor): boolean =>
      selector.tag !== undefined ? m.annotations?.[REF_NAME] === selector.tag : m.digest === selector.digest;
    const removed = index.manifests.filter(matches);
    if (removed.length === 0) throw new BerthError('NOT_FOUND', `no image ${selector.tag ?? selector.digest ?? ''} in ${where}`);
    const remaining = index.manifests.filter((m) => !matches(m));
    const kept = await layout.reachable(remaining);
    const candidates = await layout.reachable(removed);
    const blobsDeleted = [...candidates].filter((digest) => !kept.has(digest));
    const afterWrite = async (): Promise<void> => {
      for (const digest of blobsDeleted) await rm(layout.blobPath(digest), { force: true });
    };
    return { index: { ...index, manifests: remaining }, result: { removed, blobsDeleted }, afterWrite };
  });
}
