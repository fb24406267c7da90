import type { Readable } from 'node:stream';
import { BerthError } from '../errors/BerthError.js';
import type { Descriptor } from '../oci/descriptor.js';
import { digestOf, type Digest } from '../oci/digest.js';
import { manifestBlobs, type ImageIndex, type ImageManifest } from '../oci/manifest.js';
import { MediaType } from '../oci/mediaTypes.js';
import type { ImageSource, ManifestBlob } from '../transports/types.js';
import { readImageConfig } from './selectImage.js';

/**
 * Several built images (one per platform) as one ImageSource whose top manifest is an OCI index naming each with
 * the platform its config declares; blobs come from whichever instance holds them. Hand it to `copyFromSource`
 * with `all` to write the index and every instance.
 */
export async function indexOfImages(instances: ImageSource[]): Promise<ImageSource> {
  const descriptors: Descriptor[] = [];
  const manifests = new Map<string, ManifestBlob>();
  const blobOwners = new Map<string, ImageSource>();
  for (const source of instances) {
    const blob = await source.getManifest();
    const manifest = JSON.parse(blob.bytes.toString('utf8')) as ImageManifest;
    const config = await readImageConfig(source, manifest);
    const digest = digestOf(blob.bytes);
    if (manifests.has(digest)) continue;
    manifests.set(digest, blob);
    for (const d of manifestBlobs(manifest)) if (!blobOwners.has(d.digest)) blobOwners.set(d.digest, source);
    descriptors.push({
      mediaType: blob.mediaType,
      digest,
      size: blob.bytes.length,
      platform: { architecture: config.architecture, os: config.os, ...(config.variant ? { variant: config.variant } : {}) },
    });
  }
  const index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: descriptors };
  const bytes = Buffer.from(JSON.stringify(index));
  const text = `index of ${descriptors.length} image(s)`;
  return {
    reference: { ...instances[0]!.reference, within: text, toString: () => text },
    async getManifest(instanceDigest?: Digest): Promise<ManifestBlob> {
      if (instanceDigest === undefined) return { bytes, mediaType: MediaType.ociIndex };
      const found = manifests.get(instanceDigest);
      if (!found) throw new BerthError('MANIFEST_UNKNOWN', `${text} has no instance ${instanceDigest}`);
      return found;
    },
    async getBlob(descriptor: Descriptor): Promise<Readable> {
      const owner = blobOwners.get(descriptor.digest);
      if (!owner) throw new BerthError('BLOB_UNKNOWN', `${text} has no blob ${descriptor.digest}`);
      return owner.getBlob(descriptor);
    },
    async close(): Promise<void> {
      await Promise.all(instances.map((i) => i.close()));
    },
  };
}
