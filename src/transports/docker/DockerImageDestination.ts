import type { Readable } from 'node:stream';
import { blobExists, mountBlob, uploadBlob } from '../../../registry/client/index.js';
import { BerthError } from '../../errors/BerthError.js';
import type { Descriptor } from '../../oci/descriptor.js';
import { digestOf, type Digest } from '../../oci/digest.js';
import type { DestinationCapabilities, ImageDestination, ManifestBlob, TransportOptions } from '../types.js';
import { knownIn, knownRepositories, recordBlobLocation } from './blobLocations.js';
import type { DockerImageReference } from './DockerImageReference.js';
import { destinationEndpoint, type Endpoint } from './endpoints.js';

/**
 * Blobs being placed in a repository by this process (asked for, mounted or
 * uploaded), by registry/repository/digest. Images synced in parallel often
 * share layers: the second one waits for the first instead of sending the same
 * bytes again, and never links a blob into a repository while the first
 * image's manifest is being checked against it (docker-registry rewrites the
 * link file in place, and a manifest PUT that reads it half-written is
 * refused with DIGEST_INVALID).
 */
const inFlight = new Map<string, Promise<void>>();

interface Claim {
  promise: Promise<void>;
  settle: (err?: unknown) => void;
}

function newClaim(): Claim {
  let settle!: (err?: unknown) => void;
  const promise = new Promise<void>((resolve, reject) => {
    settle = (err) => (err === undefined ? resolve() : reject(err));
  });
  promise.catch(() => undefined);
  return { promise, settle };
}

/**
 * Writes an image to a registry. The registry itself is the commit point:
 * the pipeline puts blobs before the manifests naming them and the tagged
 * manifest last, so a registry never serves a manifest with missing blobs.
 */
export class DockerImageDestination implements ImageDestination {
  readonly capabilities: DestinationCapabilities = { index: true, needsKnownSize: false };
  private readonly endpoint: Endpoint;
  /** Blobs this destination said it would upload (tryReuseBlob answered false); others wait for them. */
  private readonly claims = new Map<string, Claim>();

  constructor(
    readonly reference: DockerImageReference,
    options?: TransportOptions,
  ) {
    this.endpoint = destinationEndpoint(reference.ref.domain, reference.ref.path, options);
  }

  async tryReuseBlob(descriptor: Descriptor): Promise<boolean> {
    const { host, repository } = this.endpoint;
    const key = this.uploadKey(descriptor);
    // Another image claimed this blob: wait, and ask again (it may have failed, or a third image claimed it since).
    for (let pending = inFlight.get(key); pending; pending = inFlight.get(key)) await pending.catch(() => undefined);
    // Known to be there already in this process (e.g. a base layer shared by the images of a sync): no HEAD needed.
    // If the registry lost it meanwhile, the manifest PUT fails with MANIFEST_BLOB_UNKNOWN rather than pointing at nothing.
    if (knownIn(descriptor.digest, host, repository)) return true;
    const claim = newClaim();
    this.claims.set(key, claim);
    inFlight.set(key, claim.promise);
    try {
      if (await this.foundOrMounted(descriptor)) {
        recordBlobLocation(descriptor.digest, host, repository);
        claim.settle();
        this.release(key);
        return true;
      }
    } catch (err) {
      claim.settle(err);
      this.release(key);
      throw err;
    }
    // The claim stays until putBlob (or close) settles it.
    return false;
  }

  private async foundOrMounted(descriptor: Descriptor): Promise<boolean> {
    const { client, host, repository } = this.endpoint;
    if (await blobExists(client, repository, descriptor.digest)) return true;
    for (const from of knownRepositories(descriptor.digest, host, repository)) {
      if (await mountBlob(client, repository, from, descriptor.digest)) return true;
    }
    return false;
  }

  async putBlob(descriptor: Descriptor, content: Readable): Promise<void> {
    const { client, host, repository } = this.endpoint;
    const key = this.uploadKey(descriptor);
    await uploadBlob(client, repository, descriptor, content);
    recordBlobLocation(descriptor.digest, host, repository);
    // A failed upload keeps its claim: the pipeline may retry it, and close() gives it up otherwise.
    this.claims.get(key)?.settle();
    this.release(key);
  }

  private release(key: string): void {
    const claim = this.claims.get(key);
    if (!claim) return;
    this.claims.delete(key);
    if (inFlight.get(key) === claim.promise) inFlight.delete(key);
  }

  private uploadKey(descriptor: Descriptor): string {
    return `${this.endpoint.host}/${this.endpoint.repository}@${descriptor.digest}`;
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
    // Claims left (an upload failed, or the copy failed before it) must not keep other images waiting.
    for (const [key, claim] of [...this.claims]) {
      claim.settle(new Error('upload abandoned'));
      this.release(key);
    }
  }
}
