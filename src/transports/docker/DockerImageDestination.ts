import type { Readable } from 'node:stream';
import { blobExists, mountBlob, uploadBlob } from '../../../registry/client/blobs.js';
import { BerthError } from '../../errors/BerthError.js';
import type { Descriptor } from '../../oci/descriptor.js';
import { digestOf, type Digest } from '../../oci/digest.js';
import type { DestinationCapabilities, ImageDestination, ManifestBlob, TransportOptions } from '../types.js';
import { knownRepositories, recordBlobLocation } from './blobLocations.js';
import type { DockerImageReference } from './DockerImageReference.js';
import { destinationEndpoint, type Endpoint } from './endpoints.js';

/**
 * Writes an image to a registry. The registry itself is the commit point:
 * the pipeline puts blobs before the manifests naming them and the tagged
 * manifest last, so a registry never serves a manifest with missing blobs.
 */
export class DockerImageDestination implements ImageDestination {
  readonly capabilities: DestinationCapabilities = { index: true, needsKnownSize: false };
  private readonly endpoint: Endpoint;

  constructor(
    readonly reference: DockerImageReference,
    options?: TransportOptions,
  ) {
    this.endpoint = destinationEndpoint(reference.ref.domain, reference.ref.path, options);
  }

  async tryReuseBlob(descriptor: Descriptor): Promise<boolean> {
    const { client, host, repository } = this.endpoint;
    if (await blobExists(client, repository, descriptor.digest)) {
      recordBlobLocation(descriptor.digest, host, repository);
      return true;
    }
    for (const from of knownRepositories(descriptor.digest, host, repository)) {
      if (await mountBlob(client, repository, from, descriptor.digest)) {
        recordBlobLocation(descriptor.digest, host, repository);
        return true;
      }
    }
    return false;
  }

  async putBlob(descriptor: Descriptor, content: Readable): Promise<void> {
    const { client, host, repository } = this.endpoint;
    await uploadBlob(client, repository, descriptor, content);
    recordBlobLocation(descriptor.digest, host, repository);
  }

  async putManifest(manifest: ManifestBlob, instanceDigest?: Digest): Promise<void> {
    const { client, repository } = this.endpoint;
    const digest = digestOf(manifest.bytes);
    if (instanceDigest !== undefined) {
      if (digest !== instanceDigest) throw new BerthError('DIGEST_MISMATCH', `instance manifest has digest ${digest}, expected ${instanceDigest}`);
      await client.putManifest(repository, instanceDigest, manifest.bytes, manifest.mediaType);
      return;
    }
    const { tag, digest: wanted } = this.reference.ref;
    if (wanted !== undefined && wanted !== digest) {
      throw new BerthError('DIGEST_MISMATCH', `${this.reference.toString()} names digest ${wanted}, but the manifest to push has digest ${digest}`);
    }
    await client.putManifest(repository, tag ?? digest, manifest.bytes, manifest.mediaType);
  }

  async commit(): Promise<void> {
    // Registries make each manifest visible when it is put; ordering in the pipeline is what keeps them consistent.
  }

  async close(): Promise<void> {
    // Pooled connections stay open for the next image.
  }
}
