import { BerthError } from '../../errors/BerthError.js';
import { digestAlgorithm, digestOf, type Digest } from '../../oci/digest.js';
import { parseManifest, type ImageIndex } from '../../oci/manifest.js';
import { MediaType } from '../../oci/mediaTypes.js';

/** The `oci-layout` file must announce an image layout version 1.x. */
export function checkLayoutVersion(text: string, where: string): void {
  let version: unknown;
  try {
    version = (JSON.parse(text) as { imageLayoutVersion?: unknown }).imageLayoutVersion;
  } catch {
    throw new BerthError('LAYOUT_INVALID', `${where}: oci-layout is not valid JSON`);
  }
  if (typeof version !== 'string' || !/^1\.\d+\.\d+$/.test(version)) {
    throw new BerthError('LAYOUT_INVALID', `${where}: unsupported image layout version ${JSON.stringify(version)}`);
  }
}

/** Parse and validate an untrusted index.json. */
export function parseIndexJson(bytes: Buffer, where: string): ImageIndex {
  try {
    const doc = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
    // umoci and older tools write `"manifests": null` for an empty layout.
    if (doc && typeof doc === 'object' && doc.manifests === null) return { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] };
  } catch {
    throw new BerthError('LAYOUT_INVALID', `${where}: index.json is not valid JSON`);
  }
  try {
    const parsed = parseManifest(bytes, MediaType.ociIndex);
    if (parsed.kind !== 'index') throw new BerthError('LAYOUT_INVALID', `${where}: index.json is not an image index`);
    return parsed.index;
  } catch (err) {
    if (err instanceof BerthError && err.code !== 'LAYOUT_INVALID') throw new BerthError('LAYOUT_INVALID', `${where}: index.json: ${err.message}`);
    throw err;
  }
}

/** A small blob read whole must have the size and digest it is stored under. */
export function checkSmallBlob(bytes: Buffer, digest: Digest, expectedSize: number | undefined, where: string): Buffer {
  if (expectedSize !== undefined && bytes.length !== expectedSize) {
    throw new BerthError('SIZE_MISMATCH', `blob ${digest} in ${where} has ${bytes.length} bytes, its descriptor says ${expectedSize}`);
  }
  if (digestOf(bytes, digestAlgorithm(digest)) !== digest) throw new BerthError('DIGEST_MISMATCH', `blob ${digest} in ${where} does not match its digest`);
  return bytes;
}
