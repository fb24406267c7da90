import { open, rename, rm } from 'node:fs/promises';
import type { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Descriptor } from '../../oci/descriptor.js';
import { DigestingStream } from '../../oci/digest.js';
import { syncDirectory, tempSibling } from './atomicWrite.js';

/**
 * Stream `content` into `finalPath` through a temp sibling, verifying digest
 * and size on the way; only verified bytes are ever renamed into place.
 */
export async function storeVerifiedBlob(finalPath: string, descriptor: Descriptor, content: Readable, durable = true): Promise<void> {
  const temp = tempSibling(finalPath);
  await writeThrough(content, [new DigestingStream({ digest: descriptor.digest, size: descriptor.size })], temp, durable);
  try {
    await rename(temp, finalPath);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  if (durable) await syncDirectory(finalPath.slice(0, finalPath.lastIndexOf('/')) || '/');
}

/**
 * Pipe `content` through `stages` into a new file at `path`, fsynced unless
 * `durable` is false (staging files); on any failure the file is removed. The
 * file is opened before streaming starts so that no late open can recreate it
 * after the cleanup.
 */
export async function writeThrough(content: Readable, stages: Transform[], path: string, durable = true): Promise<void> {
  const handle = await open(path, 'wx', 0o644);
  try {
    // The stream owns the handle from here and closes it when done or destroyed.
    await pipeline(content, ...(stages as [Transform]), handle.createWriteStream());
    if (durable) await fsyncFile(path);
  } catch (err) {
    content.destroy();
    await handle.close().catch(() => undefined);
    await rm(path, { force: true });
    throw err;
  }
}

async function fsyncFile(path: string): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
