import { BerthError } from '../errors/BerthError.js';
import type { Descriptor } from '../oci/descriptor.js';
import { DigestingStream } from '../oci/digest.js';
import type { ImageSource } from '../transports/types.js';

/** Small blobs that must be parsed (configs, signature payloads). Larger ones are refused rather than buffered. */
export const MAX_SMALL_BLOB_BYTES = 16 * 1024 * 1024;

/** Read a small blob fully, verified against its descriptor. */
export async function readBlobBytes(source: ImageSource, descriptor: Descriptor): Promise<Buffer> {
  if (descriptor.size > MAX_SMALL_BLOB_BYTES) {
    throw new BerthError('UNSUPPORTED', `blob ${descriptor.digest} is ${descriptor.size} bytes, more than the ${MAX_SMALL_BLOB_BYTES} read into memory`);
  }
  const verifier = new DigestingStream({ digest: descriptor.digest, size: descriptor.size });
  const raw = await source.getBlob(descriptor);
  raw.on('error', (err) => verifier.destroy(err));
  raw.pipe(verifier);
  const chunks: Buffer[] = [];
  for await (const chunk of verifier) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
