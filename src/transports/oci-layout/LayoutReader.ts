import type { Readable } from 'node:stream';
import type { Descriptor } from '../../oci/descriptor.js';
import type { Digest } from '../../oci/digest.js';
import type { ImageIndex } from '../../oci/manifest.js';

/** Read access to an OCI layout, wherever it lives (a directory, or a tar read in place). */
export interface LayoutReader {
  readIndex(): Promise<ImageIndex>;
  /** A manifest-sized blob, whole, checked against its digest (and size when given). */
  readSmallBlob(digest: Digest, expectedSize?: number): Promise<Buffer>;
  /** A blob's bytes as a stream; the caller verifies them. */
  openBlob(descriptor: Descriptor): Promise<Readable>;
}
