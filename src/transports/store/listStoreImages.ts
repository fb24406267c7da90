import { stat } from 'node:fs/promises';
import { BerthError } from '../../errors/BerthError.js';
import type { Digest } from '../../oci/digest.js';
import { parseDockerReference, repositoryName } from '../../reference/dockerReference.js';
import { OciLayout, REF_NAME } from '../oci-layout/OciLayout.js';
import { storeLayoutPath } from '../../store/storeRoot.js';

export interface StoredImage {
  /** Full normalised reference, e.g. `docker.io/library/busybox:latest`. */
  reference: string;
  repository: string;
  tag: string;
  digest: Digest;
  mediaType: string;
  /** Bytes of every blob the image uses (manifests, configs, layers) as stored. */
  size: number;
}

/** The images of the local store, sorted by reference; an absent store is empty. */
export async function listStoreImages(root?: string): Promise<StoredImage[]> {
  const layout = new OciLayout(storeLayoutPath(root));
  try {
    await layout.check();
  } catch (err) {
    if (err instanceof BerthError && err.code === 'NOT_FOUND') return [];
    throw err;
  }
  const index = await layout.readIndex();
  const images: StoredImage[] = [];
  for (const entry of index.manifests) {
    const reference = entry.annotations?.[REF_NAME];
    if (reference === undefined) continue;
    let repository = reference;
    let tag = '<none>';
    try {
      const parsed = parseDockerReference(reference);
      repository = repositoryName(parsed);
      tag = parsed.tag ?? '<none>';
    } catch {
      // A name some other tool wrote; list it as it is.
    }
    let size = 0;
    for (const digest of await layout.reachable([entry])) {
      size += await stat(layout.blobPath(digest)).then((s) => s.size, () => 0);
    }
    images.push({ reference, repository, tag, digest: entry.digest, mediaType: entry.mediaType, size });
  }
  return images.sort((a, b) => a.reference.localeCompare(b.reference));
}
