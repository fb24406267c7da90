import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { HistoryEntry } from '../oci/config.js';
import type { Descriptor } from '../oci/descriptor.js';
import type { Digest } from '../oci/digest.js';
import { MediaType } from '../oci/mediaTypes.js';
import { compressLayer } from './compression.js';

/** A layer a builder made, offered lazily: its bytes are only read when a destination needs them. */
export interface NewLayer {
  /** The blob as stored (usually gzip), with its digest and size already known. */
  descriptor: Descriptor;
  /** Digest of the uncompressed tar, for rootfs.diff_ids. */
  diffId: Digest;
  open(): Promise<Readable>;
  history?: HistoryEntry;
}

export interface LayerFromTarOptions {
  /** Where finished blobs are kept, named by digest (`sha256-HEX`); created when missing. */
  blobDir: string;
  compression?: 'gzip' | 'none';
  level?: number;
  history?: HistoryEntry;
}

/**
 * Turn a tar stream into a NewLayer: compressed once into a temp file beside
 * the finished blobs (both digests computed on the way), then renamed to its
 * digest, so a blob under its name is always complete. The same tar twice
 * gives the same file; `open()` streams it back from disk.
 */
export async function layerFromTar(tar: Readable, options: LayerFromTarOptions): Promise<NewLayer> {
  await mkdir(options.blobDir, { recursive: true, mode: 0o700 });
  const temp = join(options.blobDir, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
  let compressed;
  try {
    compressed = await compressLayer(tar, createWriteStream(temp, { mode: 0o600 }), {
      compression: options.compression ?? 'gzip',
      ...(options.level !== undefined ? { level: options.level } : {}),
    });
    await rename(temp, blobPath(options.blobDir, compressed.digest));
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  const file = blobPath(options.blobDir, compressed.digest);
  return {
    descriptor: {
      mediaType: compressed.compression === 'gzip' ? MediaType.ociLayerGzip : MediaType.ociLayer,
      digest: compressed.digest,
      size: compressed.size,
    },
    diffId: compressed.diffId,
    open: async () => createReadStream(file),
    ...(options.history ? { history: options.history } : {}),
  };
}

/**
 * A layer made earlier by `layerFromTar` (a cache hit): the blob is taken by
 * its digest and checked to exist with the size recorded; null when it is gone.
 */
export async function storedLayer(blobDir: string, descriptor: Descriptor, diffId: Digest, history?: HistoryEntry): Promise<NewLayer | null> {
  const file = blobPath(blobDir, descriptor.digest);
  const size = await stat(file).then((s) => s.size, () => -1);
  if (size !== descriptor.size) return null;
  return { descriptor, diffId, open: async () => createReadStream(file), ...(history ? { history } : {}) };
}

function blobPath(blobDir: string, digest: Digest): string {
  return join(blobDir, digest.replace(':', '-'));
}
