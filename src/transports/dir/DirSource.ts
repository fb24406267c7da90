import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { BerthError } from '../../errors/BerthError.js';
import type { Descriptor } from '../../oci/descriptor.js';
import type { Digest } from '../../oci/digest.js';
import { MAX_MANIFEST_BYTES } from '../../oci/manifest.js';
import { MediaType } from '../../oci/mediaTypes.js';
import { readBounded } from '../files/readBounded.js';
import { regularFile } from '../files/regularFile.js';
import type { ImageReference, ImageSource, ManifestBlob } from '../types.js';
import { blobFile, manifestFile, VERSION_FILE } from './dirFormat.js';
import { BLOB_READ_CHUNK } from '../files/blobReadChunk.js';

/** Reads a `dir:` image (as skopeo writes it). */
export class DirSource implements ImageSource {
  private constructor(
    readonly reference: ImageReference,
    private readonly dir: string,
  ) {}

  static async open(reference: ImageReference, dir: string): Promise<DirSource> {
    const version = await readBounded(`${dir}/${VERSION_FILE}`, 4096).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      if (err.code === 'ENOTDIR') throw new BerthError('NOT_FOUND', `${dir} is not a directory`);
      throw err;
    });
    if (version !== undefined && !version.toString('utf8').startsWith('Directory Transport Version: 1.')) {
      throw new BerthError('UNSUPPORTED', `${dir}: unsupported ${version.toString('utf8').trim().slice(0, 60)}`);
    }
    // Fail now, before a destination is created for an image that is not there.
    await readBounded(manifestFile(dir), MAX_MANIFEST_BYTES).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') throw new BerthError('MANIFEST_UNKNOWN', `${reference.toString()} has no manifest.json`);
      throw err;
    });
    return new DirSource(reference, dir);
  }

  async getManifest(instanceDigest?: Digest): Promise<ManifestBlob> {
    const path = manifestFile(this.dir, instanceDigest);
    const bytes = await readBounded(path, MAX_MANIFEST_BYTES).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') throw new BerthError('MANIFEST_UNKNOWN', `${this.reference.toString()} has no ${instanceDigest ? `manifest ${instanceDigest}` : 'manifest.json'}`);
      throw err;
    });
    return { bytes, mediaType: guessMediaType(bytes) };
  }

  async getBlob(descriptor: Descriptor): Promise<Readable> {
    const handle = await open(blobFile(this.dir, descriptor.digest), 'r').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') throw new BerthError('BLOB_UNKNOWN', `blob ${descriptor.digest} is missing from ${this.reference.toString()}`);
      throw err;
    });
    return handle.createReadStream({ highWaterMark: BLOB_READ_CHUNK });
  }

  /** Blobs are plain files named by digest; a missing one is left to getBlob, which reports it. */
  blobFile(descriptor: Descriptor): Promise<string | undefined> {
    return regularFile(blobFile(this.dir, descriptor.digest));
  }

  async close(): Promise<void> {}
}

/** The directory stores no media type: take the document's own, else infer OCI manifest or index from its shape. */
function guessMediaType(bytes: Buffer): string {
  try {
    const doc = JSON.parse(bytes.toString('utf8')) as { mediaType?: unknown; manifests?: unknown };
    if (typeof doc.mediaType === 'string') return doc.mediaType;
    return Array.isArray(doc.manifests) ? MediaType.ociIndex : MediaType.ociManifest;
  } catch {
    return MediaType.ociManifest;
  }
}
