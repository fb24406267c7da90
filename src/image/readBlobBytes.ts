import { pipeline } from 'node:stream/promises';
import { BerthError } from '../errors/BerthError.js';
import type { Descriptor } from '../oci/descriptor.js';
import { DigestingStream } from '../oci/digest.js';
import type { ImageSource } from '../transports/types.js';

/** Image configs and signature payloads are small JSON; larger ones are refused rather than buffered. */
const MAX_SMALL_BLOB_BYTES = 8 * 1024 * 1024;

/** Read a small blob fully, verified against its descriptor (size checked before anything is read). */
export async function readBlobBytes(source: ImageSource, descriptor: Descriptor, limit = MAX_SMALL_BLOB_BYTES): Promise<Buffer> {
  if (descriptor.size > limit) {
    throw new BerthError('MANIFEST_INVALID', `blob ${descriptor.digest} declares ${descriptor.size} bytes, more than the ${limit} read into memory`);
  }
  const verifier = new DigestingStream({ digest: descriptor.digest, size: descriptor.size });
  const chunks: Buffer[] = [];
  verifier.on('data', (chunk: Buffer) => chunks.push(chunk));
  await pipeline(await source.getBlob(descriptor), verifier);
  return Buffer.concat(chunks);
}
