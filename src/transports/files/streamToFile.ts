import { open, rename, rm } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Descriptor } from '../../oci/descriptor.js';
import { DigestingStream } from '../../oci/digest.js';
import { syncDirectory, tempSibling } from './atomicWrite.js';

/**
 * Stream `content` into `finalPath` through a temp sibling, verifying digest
 * and size on the way; only verified bytes are ever renamed into place.
 */
export async function storeVerifiedBlob(finalPath: string, descriptor: Descriptor, content: Readable, tempPath = tempSibling(finalPath)): Promise<void> {
  const verifier = new DigestingStream({ digest: descriptor.digest, size: descriptor.size });
  try {
    await pipeline(content, verifier, createWriteStream(tempPath, { flags: 'wx', mode: 0o644 }));
    await fsyncFile(tempPath);
    await rename(tempPath, finalPath);
  } catch (err) {
    content.destroy();
    await rm(tempPath, { force: true });
    throw err;
  }
  await syncDirectory(finalPath.slice(0, finalPath.lastIndexOf('/')) || '/');
}

export async function fsyncFile(path: string): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
