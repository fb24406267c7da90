import { BerthError } from '../../errors/BerthError.js';
import type { Digest } from '../../oci/digest.js';
import { formatDockerReference, parseDockerReferenceWithDefaultTag } from '../../reference/dockerReference.js';
import type { DeletedImage } from '../oci-layout/deleteLayoutImage.js';
import { OciLayout } from '../oci-layout/OciLayout.js';
import { OciLayoutSource } from '../oci-layout/OciLayoutSource.js';
import { registerTransport } from '../transportRegistry.js';
import type { ImageDestination, ImageReference, ImageSource, Transport, TransportOptions } from '../types.js';
import { storeLayoutPath } from '../../store/storeRoot.js';

export const STORE_TRANSPORT = 'berth';

/**
 * `berth:NAME[:TAG|@DIGEST]` — the local image store, an OCI layout whose
 * images are tagged with their full normalised docker reference
 * (`docker.io/library/busybox:latest`). It is the default transport for bare
 * names (`berth run localhost/app:1`).
 */
export class StoreReference implements ImageReference {
  readonly transport: Transport = storeTransport;
  /** The normalised name this image is tagged with in the store (no digest). */
  readonly name: string | undefined;
  readonly digest: Digest | undefined;
  readonly dockerReference: string;

  constructor(readonly within: string) {
    const ref = parseDockerReferenceWithDefaultTag(within);
    this.digest = ref.digest;
    this.dockerReference = formatDockerReference(ref);
    if (ref.tag !== undefined && ref.digest === undefined) this.name = formatDockerReference(ref);
  }

  toString(): string {
    return `${STORE_TRANSPORT}:${this.dockerReference}`;
  }

  layout(options?: TransportOptions): OciLayout {
    return new OciLayout(storeLayoutPath(options?.storeRoot));
  }

  async newSource(options?: TransportOptions): Promise<ImageSource> {
    const layout = this.layout(options);
    await layout.check().catch((err: unknown) => {
      if (err instanceof BerthError && err.code === 'NOT_FOUND') throw new BerthError('NOT_FOUND', `image ${this.dockerReference} is not in the local store (it is empty)`);
      throw err;
    });
    if (this.name !== undefined) {
      return OciLayoutSource.open(this, layout, this.name).catch((err: unknown) => {
        if (err instanceof BerthError && err.code === 'TAG_UNKNOWN') throw new BerthError('NOT_FOUND', `image ${this.dockerReference} is not in the local store`);
        throw err;
      });
    }
    const index = await layout.readIndex();
    const entry = index.manifests.find((m) => m.digest === this.digest);
    if (!entry) throw new BerthError('NOT_FOUND', `image ${this.dockerReference} is not in the local store`);
    return OciLayoutSource.open(this, layout, entry.annotations?.['org.opencontainers.image.ref.name']);
  }

  async newDestination(options?: TransportOptions): Promise<ImageDestination> {
    if (this.name === undefined) throw new BerthError('USAGE', `${this.toString()}: images are stored under a tag; name one (NAME:TAG)`);
    const { OciLayoutDestination } = await import('../oci-layout/OciLayoutDestination.js');
    return OciLayoutDestination.open(this, this.layout(options), this.name, { keepDockerManifests: true });
  }

  async deleteImage(options?: TransportOptions): Promise<void> {
    await this.remove(options);
  }

  /** Untag this image and delete the blobs no other stored image uses. */
  async remove(options?: TransportOptions): Promise<DeletedImage> {
    const layout = this.layout(options);
    await layout.check();
    const selector = this.name !== undefined ? { tag: this.name } : { digest: this.digest as Digest };
    const { deleteLayoutImage } = await import('../oci-layout/deleteLayoutImage.js');
    return deleteLayoutImage(layout, selector, 'the local store').catch((err: unknown) => {
      if (err instanceof BerthError && err.code === 'NOT_FOUND') throw new BerthError('NOT_FOUND', `image ${this.dockerReference} is not in the local store`);
      throw err;
    });
  }
}

export const storeTransport: Transport = {
  name: STORE_TRANSPORT,
  parse: (within) => new StoreReference(within),
};

registerTransport(storeTransport);
