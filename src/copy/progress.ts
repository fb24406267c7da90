import type { Descriptor } from '../oci/descriptor.js';
import type { Digest } from '../oci/digest.js';

/** What the copy pipeline reports while it works; a CLI renders these, a library caller may ignore them. */
export type CopyProgressEvent =
  | { type: 'image'; manifestDigest: Digest; blobs: number }
  | { type: 'blob-reused'; descriptor: Descriptor }
  | { type: 'blob-start'; descriptor: Descriptor }
  | { type: 'blob-retry'; descriptor: Descriptor; reason: string }
  | { type: 'blob-progress'; descriptor: Descriptor; bytes: number }
  | { type: 'blob-done'; descriptor: Descriptor; bytes: number }
  | { type: 'blob-skipped'; descriptor: Descriptor; reason: string }
  | { type: 'manifest'; digest: Digest; mediaType: string; instance: boolean };

export type ProgressListener = (event: CopyProgressEvent) => void;
