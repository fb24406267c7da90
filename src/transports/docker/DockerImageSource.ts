import type { Readable } from 'node:stream';
import { blobStream } from '../../../registry/client/index.js';
import { BerthError, isBerthError } from '../../errors/BerthError.js';
import type { Descriptor } from '../../oci/descriptor.js';
import type { Digest } from '../../oci/digest.js';
import { parseManifest } from '../../oci/manifest.js';
import type { ImageSource, ManifestBlob, TransportOptions } from '../types.js';
import { recordBlobLocation } from './blobLocations.js';
import type { DockerImageReference } from './DockerImageReference.js';
import { sourceEndpoints, type Endpoint } from './endpoints.js';

/**
 * Reads an image from a registry. The first endpoint (mirror or primary) that
 * serves the top-level manifest serves everything else, so an image is never
 * assembled from two registries.
 */
export class DockerImageSource implements ImageSource {
  private chosen: Endpoint | undefined;

  private constructor(
    readonly reference: DockerImageReference,
    private readonly endpoints: Endpoint[],
  ) {}

  static async open(reference: DockerImageReference, options?: TransportOptions): Promise<DockerImageSource> {
    const { domain, path, digest } = reference.ref;
    return new DockerImageSource(reference, sourceEndpoints(domain, path, digest !== undefined, options));
  }

  /** The endpoint actually used (after the first manifest read). */
  get endpoint(): Endpoint | undefined {
    return this.chosen;
  }

  async getManifest(instanceDigest?: Digest): Promise<ManifestBlob> {
    const ref = instanceDigest ?? this.reference.manifestReference;
    if (this.chosen) return this.fetch(this.chosen, ref);
    let firstMirrorError: unknown;
    for (const endpoint of this.endpoints) {
      try {
        const blob = await this.fetch(endpoint, ref);
        this.chosen = endpoint;
        return blob;
      } catch (err) {
        if (!endpoint.mirror) throw err;
        firstMirrorError ??= err;
      }
    }
    throw firstMirrorError ?? new BerthError('INTERNAL', 'no registry endpoint to pull from');
  }

  private async fetch(endpoint: Endpoint, ref: string): Promise<ManifestBlob> {
    const result = await endpoint.client.getManifest(endpoint.repository, ref);
    this.recordBlobs(endpoint, result.bytes, result.mediaType);
    return { bytes: result.bytes, mediaType: result.mediaType };
  }

  /** Remember which blobs this repository holds, so a push to the same registry can mount them. */
  private recordBlobs(endpoint: Endpoint, bytes: Buffer, mediaType: string): void {
    try {
      const parsed = parseManifest(bytes, mediaType);
      if (parsed.kind !== 'manifest') return;
      for (const d of [parsed.manifest.config, ...parsed.manifest.layers]) recordBlobLocation(d.digest, endpoint.host, endpoint.repository);
    } catch (err) {
      // The copy pipeline parses the same bytes and reports what is wrong with them.
      if (!isBerthError(err)) throw err;
    }
  }

  async getBlob(descriptor: Descriptor): Promise<Readable> {
    if (!this.chosen) await this.getManifest();
    return blobStream(this.chosen!.client, this.chosen!.repository, descriptor);
  }

  async close(): Promise<void> {
    // Connections are pooled per process (registry/client/dispatcher.ts) and reused by the next image.
  }
}
