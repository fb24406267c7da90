import type { Readable } from 'node:stream';
import { BerthError } from '../../errors/BerthError.js';
import type { Descriptor } from '../../oci/descriptor.js';
import { digestAlgorithm, digestHex, parseDigest, type Digest } from '../../oci/digest.js';
import { MAX_MANIFEST_BYTES, type ImageIndex } from '../../oci/manifest.js';
import type { TarIndex, TarMember } from '../files/tarIndex.js';
import { checkLayoutVersion, checkSmallBlob, parseIndexJson } from '../oci-layout/layoutFiles.js';
import type { LayoutReader } from '../oci-layout/LayoutReader.js';
import { INDEX_FILE, LAYOUT_FILE } from '../oci-layout/OciLayout.js';

/** An OCI layout read in place from a tar (oci-archive:), members streamed straight from the file. */
export class ArchiveLayoutReader implements LayoutReader {
  constructor(
    private readonly tar: TarIndex,
    private readonly where: string,
  ) {}

  async readIndex(): Promise<ImageIndex> {
    const layout = this.tar.get(LAYOUT_FILE);
    const index = this.tar.get(INDEX_FILE);
    if (!layout || !index) throw new BerthError('ARCHIVE_INVALID', `${this.where} is not an OCI archive (no ${LAYOUT_FILE} or ${INDEX_FILE} at its top)`);
    checkLayoutVersion((await this.tar.read(layout, 4096, `${this.where} ${LAYOUT_FILE}`)).toString('utf8'), this.where);
    return parseIndexJson(await this.tar.read(index, MAX_MANIFEST_BYTES, `${this.where} ${INDEX_FILE}`), this.where);
  }

  async readSmallBlob(digest: Digest, expectedSize?: number): Promise<Buffer> {
    const bytes = await this.tar.read(this.member(digest), MAX_MANIFEST_BYTES, `blob ${digest}`);
    return checkSmallBlob(bytes, digest, expectedSize, this.where);
  }

  async openBlob(descriptor: Descriptor): Promise<Readable> {
    return this.tar.open(this.member(descriptor.digest));
  }

  private member(digest: Digest): TarMember {
    const checked = parseDigest(digest);
    const found = this.tar.get(`blobs/${digestAlgorithm(checked)}/${digestHex(checked)}`);
    if (!found) throw new BerthError('BLOB_UNKNOWN', `blob ${digest} is missing from ${this.where}`);
    return found;
  }
}
