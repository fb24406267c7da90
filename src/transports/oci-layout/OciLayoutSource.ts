import type { Readable } from 'node:stream';
import type { Descriptor } from '../../oci/descriptor.js';
import type { Digest } from '../../oci/digest.js';
import type { ImageIndex } from '../../oci/manifest.js';
import { MediaType } from '../../oci/mediaTypes.js';
import type { ImageReference, ImageSource, ManifestBlob } from '../types.js';
import { regularFile } from '../files/regularFile.js';
import type { LayoutReader } from './LayoutReader.js';
import { OciLayout } from './OciLayout.js';
import { resolveLayoutImage } from './resolveLayoutImage.js';

/** Reads one image (or index) of an OCI layout (a directory or an archive), chosen by its ref.name tag. */
export class OciLayoutSource implements ImageSource {
  private constructor(
    readonly reference: ImageReference,
    private readonly layout: LayoutReader,
    private readonly index: ImageIndex,
    private readonly top: Descriptor,
  ) {}

  static async open(reference: ImageReference, layout: LayoutReader, tag: string | undefined): Promise<OciLayoutSource> {
    const index = await layout.readIndex();
    return new OciLayoutSource(reference, layout, index, resolveLayoutImage(index, tag, reference.toString()));
  }

  /** The index.json entry this source reads. */
  get descriptor(): Descriptor {
    return this.top;
  }

  async getManifest(instanceDigest?: Digest): Promise<ManifestBlob> {
    if (instanceDigest === undefined || instanceDigest === this.top.digest) {
      return { bytes: await this.layout.readSmallBlob(this.top.digest, this.top.size), mediaType: this.top.mediaType };
    }
    const bytes = await this.layout.readSmallBlob(instanceDigest);
    return { bytes, mediaType: this.instanceMediaType(instanceDigest, bytes) };
  }

  async getBlob(descriptor: Descriptor): Promise<Readable> {
    return this.layout.openBlob(descriptor);
  }

  /** Blobs of a layout directory are plain files; a missing one is left to getBlob, which reports it. */
  async blobFile(descriptor: Descriptor): Promise<string | undefined> {
    if (!(this.layout instanceof OciLayout)) return undefined;
    return regularFile(this.layout.blobPath(descriptor.digest));
  }

  async close(): Promise<void> {}

  /** Instances are stored as plain blobs: take the media type from the document, else from index.json, else OCI. */
  private instanceMediaType(digest: Digest, bytes: Buffer): string {
    try {
      const own = (JSON.parse(bytes.toString('utf8')) as { mediaType?: unknown }).mediaType;
      if (typeof own === 'string') return own;
    } catch {
      // Left to the caller's manifest parser, which reports it properly.
    }
    return this.index.manifests.find((m) => m.digest === digest)?.mediaType ?? MediaType.ociManifest;
  }
}
