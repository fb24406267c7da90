import type { Readable } from 'node:stream';
import { BerthError } from '../../errors/BerthError.js';
import type { Descriptor } from '../../oci/descriptor.js';
import type { Digest } from '../../oci/digest.js';
import { MediaType } from '../../oci/mediaTypes.js';
import type { DestinationCapabilities, ImageDestination, ImageReference, ManifestBlob } from '../types.js';
import { OciLayout, REF_NAME } from './OciLayout.js';

/**
 * Writes an image into an OCI layout. Blobs and manifests land under their
 * verified digests as they come; the image only becomes visible when commit
 * adds its entry to index.json (replacing an image with the same tag).
 */
export class OciLayoutDestination implements ImageDestination {
  /**
   * An OCI layout holds OCI manifests (oci-image-tool and umoci reject Docker media
   * types in one), so the copy pipeline converts Docker schema2 on the way in, as
   * skopeo does. The local store passes `keepDockerManifests` to keep pulled
   * images byte-for-byte, digests included.
   */
  readonly capabilities: DestinationCapabilities;
  private readonly needed = new Map<Digest, Descriptor>();
  private top: Descriptor | undefined;

  private constructor(
    readonly reference: ImageReference,
    private readonly layout: OciLayout,
    private readonly tag: string | undefined,
    keepDockerManifests: boolean,
  ) {
    const oci = [MediaType.ociManifest, MediaType.ociIndex];
    this.capabilities = { index: true, manifestMediaTypes: keepDockerManifests ? [...oci, MediaType.dockerManifest, MediaType.dockerManifestList] : oci };
  }

  static async open(reference: ImageReference, layout: OciLayout, tag: string | undefined, options: { keepDockerManifests?: boolean } = {}): Promise<OciLayoutDestination> {
    await layout.ensure();
    await layout.removeOrphans();
    return new OciLayoutDestination(reference, layout, tag, options.keepDockerManifests === true);
  }

  async tryReuseBlob(descriptor: Descriptor): Promise<boolean> {
    if (!(await this.layout.hasBlob(descriptor))) return false;
    this.needed.set(descriptor.digest, descriptor);
    return true;
  }

  async putBlob(descriptor: Descriptor, content: Readable): Promise<void> {
    await this.layout.putBlob(descriptor, content);
    this.needed.set(descriptor.digest, descriptor);
  }

  async putManifest(manifest: ManifestBlob, instanceDigest?: Digest): Promise<void> {
    const digest = await this.layout.putBytes(manifest.bytes);
    if (instanceDigest !== undefined && instanceDigest !== digest) {
      throw new BerthError('DIGEST_MISMATCH', `instance manifest has digest ${digest}, expected ${instanceDigest}`);
    }
    const descriptor: Descriptor = { mediaType: manifest.mediaType, digest, size: manifest.bytes.length };
    this.needed.set(digest, descriptor);
    if (instanceDigest === undefined) this.top = descriptor;
  }

  async commit(): Promise<void> {
    const top = this.top;
    if (!top) throw new BerthError('INTERNAL', `commit to ${this.reference.toString()} before its manifest was written`);
    await this.layout.updateIndex(async (index) => {
      // A concurrent `rmi` may have removed a shared blob since we checked it: never name a missing blob.
      for (const descriptor of this.needed.values()) {
        if (!(await this.layout.hasBlob(descriptor))) {
          throw new BerthError('BLOB_UNKNOWN', `blob ${descriptor.digest} disappeared from ${this.layout.root} during the copy; run it again`);
        }
      }
      const entry: Descriptor = { ...top };
      if (this.tag !== undefined) entry.annotations = { [REF_NAME]: this.tag };
      const others = index.manifests.filter((m) =>
        this.tag !== undefined ? m.annotations?.[REF_NAME] !== this.tag : !(m.digest === top.digest && m.annotations?.[REF_NAME] === undefined),
      );
      return { index: { ...index, manifests: [...others, entry] }, result: undefined };
    });
  }

  /** Blobs written without a commit stay as unreferenced blobs, which the layout spec allows; nothing names them. */
  async close(): Promise<void> {}
}
