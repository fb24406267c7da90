import type { Readable } from 'node:stream';
import type { Descriptor } from '../../oci/descriptor.js';
import type { Digest } from '../../oci/digest.js';
import { makeWorkspace, removeWorkspace } from '../files/tempWorkspace.js';
import { OciLayout } from '../oci-layout/OciLayout.js';
import { OciLayoutSource } from '../oci-layout/OciLayoutSource.js';
import type { ImageReference, ImageSource, ManifestBlob } from '../types.js';
import { unpackArchiveLayout } from './archiveLayout.js';

/** Reads an oci-archive by unpacking it into a private temp layout, removed on close. */
export class OciArchiveSource implements ImageSource {
  private constructor(
    readonly reference: ImageReference,
    private readonly workspace: string,
    private readonly inner: OciLayoutSource,
  ) {}

  static async open(reference: ImageReference, file: string, tag: string | undefined): Promise<OciArchiveSource> {
    const workspace = await makeWorkspace('oci-archive');
    try {
      const root = await unpackArchiveLayout(file, workspace);
      return new OciArchiveSource(reference, workspace, await OciLayoutSource.open(reference, new OciLayout(root), tag));
    } catch (err) {
      await removeWorkspace(workspace);
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
    await removeWorkspace(this.workspace);
  }
}
