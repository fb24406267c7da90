import type { Readable } from 'node:stream';
import type { Descriptor } from '../../oci/descriptor.js';
import type { Digest } from '../../oci/digest.js';
import { openArchive, type OpenedArchive } from '../files/openArchive.js';
import { OciLayoutSource } from '../oci-layout/OciLayoutSource.js';
import type { ImageReference, ImageSource, ManifestBlob } from '../types.js';
import { ArchiveLayoutReader } from './ArchiveLayoutReader.js';

/** Reads an oci-archive in place (a gzip-compressed one is decompressed to a temp file first). */
export class OciArchiveSource implements ImageSource {
  private constructor(
    readonly reference: ImageReference,
    private readonly archive: OpenedArchive,
    private readonly inner: OciLayoutSource,
  ) {}

  static async open(reference: ImageReference, file: string, tag: string | undefined): Promise<OciArchiveSource> {
    const archive = await openArchive(file, file);
    try {
      const inner = await OciLayoutSource.open(reference, new ArchiveLayoutReader(archive.index, file), tag);
      return new OciArchiveSource(reference, archive, inner);
    } catch (err) {
      await archive.close();
      throw err;
    }
  }

  getManifest(instanceDigest?: Digest): Promise<ManifestBlob> {
    return this.inner.getManifest(instanceDigest);
  }

  getBlob(descriptor: Descriptor): Promise<Readable> {
    return this.inner.getBlob(descriptor);
  }

  async close(): Promise<void> {
    await this.archive.close();
  }
}
