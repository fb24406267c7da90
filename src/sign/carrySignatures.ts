import type { Digest } from '../oci/digest.js';
import type { ImageDestination, ImageReference } from '../transports/types.js';
import { signatureStorageOf, signaturesMayLackAPlace } from './signatureStorage.js';
import type { CopySignaturesOptions } from './copySignatures.js';

/**
 * The copy pipeline's `admit` check that the source's signatures have a place at the destination (see
 * refuseSignaturesWithoutPlace): give it to copyImage with carrySignatures, so that a copy that could not
 * carry them fails before its first byte rather than after its last.
 */
export function signaturesHaveAPlace(options: CopySignaturesOptions = {}): (image: { source: ImageReference; destination: ImageReference; manifestDigest: Digest }) => Promise<void> {
  const loading = import('./copySignatures.js');
  loading.catch(() => undefined);
  return async (image) => {
    const [from, to] = await Promise.all([signatureStorageOf(image.source, options.sourceRegistry), signatureStorageOf(image.destination, options.destinationRegistry)]);
    if (!signaturesMayLackAPlace(from, to, options)) return;
    const { refuseSignaturesWithoutPlace } = await loading;
    await refuseSignaturesWithoutPlace(image.source, image.destination, image.manifestDigest, options);
  };
}

/**
 * The copy pipeline's `afterCommit` hook that carries signatures: give it to
 * copyImage as `afterCommit: carrySignatures({...})`. Registry settings
 * default to the ones the copy used for each side.
 *
 * The signature code (cosign, OpenPGP, registries.d) starts loading when the
 * hook is made and is awaited only after the commit, so a copy does not wait
 * for it before moving its first byte.
 */
export function carrySignatures(options: CopySignaturesOptions = {}): (image: { source: ImageReference; destination: ImageReference; manifestDigest: Digest; instanceDigests: Digest[] }) => Promise<void> {
  const loading = import('./copySignatures.js');
  loading.catch(() => undefined);
  return async (image) => {
    const { copySignatures } = await loading;
    await copySignatures(image.source, image.destination, [image.manifestDigest, ...image.instanceDigests], options);
  };
}

/**
 * The copy pipeline's `beforeCommit` hook for destinations that hold signatures inside what their commit
 * writes (oci-archive): carries (and makes) the signatures into the open destination. Give it to copyImage
 * together with carrySignatures, which leaves those destinations alone.
 */
export function carrySignaturesBeforeCommit(options: CopySignaturesOptions = {}): (image: { source: ImageReference; destination: ImageReference; manifestDigest: Digest; instanceDigests: Digest[] }, writing: ImageDestination) => Promise<void> {
  return async (image, writing) => {
    if (!writing.signatureStorage) return;
    const [{ copySignatures }, storage] = await Promise.all([import('./copySignatures.js'), writing.signatureStorage()]);
    await copySignatures(image.source, image.destination, [image.manifestDigest, ...image.instanceDigests], options, storage);
  };
}
