import { parseImageReference } from '../transports/transportRegistry.js';
import type { ImageReference, ImageSource } from '../transports/types.js';
import { digestOf, type Digest } from '../oci/digest.js';
import { copyFromSource, type CopyOptions } from './copyImage.js';

/** What a copy to one destination does besides copying (signing it there): the copy pipeline's hooks. */
export type DestinationHooks = Pick<CopyOptions, 'admit' | 'beforeCommit' | 'afterCommit'>;

/**
 * A built image to each of its `-t` destinations (a bare name is the local store), through the one copy pipeline.
 * Every destination's `admit` hook runs before the first byte is written anywhere, so a destination that would
 * refuse (a signature with no place to go) leaves none of the others half done.
 */
export async function copyToTags(image: ImageSource, tags: string[], options: Omit<CopyOptions, keyof DestinationHooks> & { hooksFor?: (destination: ImageReference) => DestinationHooks }): Promise<{ reference: string; manifestDigest: Digest }[]> {
  const { hooksFor, ...copy } = options;
  const targets = tags.map((tag) => {
    const destination = parseImageReference(tag, 'berth');
    return { tag, destination, hooks: hooksFor?.(destination) ?? {} };
  });
  const top = await image.getManifest();
  for (const { destination, hooks } of targets) await hooks.admit?.({ source: image.reference, destination, manifestDigest: digestOf(top.bytes) });
  const written: { reference: string; manifestDigest: Digest }[] = [];
  for (const { tag, destination, hooks } of targets) {
    const { beforeCommit, afterCommit } = hooks;
    const result = await copyFromSource(image, destination, { ...copy, ...(beforeCommit ? { beforeCommit } : {}), ...(afterCommit ? { afterCommit } : {}) });
    written.push({ reference: tag, manifestDigest: result.manifestDigest });
  }
  return written;
}
