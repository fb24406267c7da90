import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { BerthError } from '../../errors/BerthError.js';
import type { Descriptor } from '../../oci/descriptor.js';
import { digestAlgorithm, digestHex, digestOf, parseDigest, type Digest } from '../../oci/digest.js';
import { MAX_MANIFEST_BYTES, parseManifest, type ImageIndex } from '../../oci/manifest.js';
import { MediaType } from '../../oci/mediaTypes.js';
import { isOrphanTemp, removeOrphanSiblings, syncDirectory, TEMP_MARK, tempSibling, writeFileAtomic } from '../files/atomicWrite.js';
import { withFileLock } from '../files/fileLock.js';
import { checkLayoutVersion, checkSmallBlob, parseIndexJson } from './layoutFiles.js';
import type { LayoutReader } from './LayoutReader.js';
import { readBounded } from '../files/readBounded.js';
import { storeVerifiedBlob } from '../files/streamToFile.js';
import { BLOB_READ_CHUNK } from '../files/blobReadChunk.js';

export const LAYOUT_FILE = 'oci-layout';
export const INDEX_FILE = 'index.json';
const LOCK_FILE = 'index.json.lock';
export const REF_NAME = 'org.opencontainers.image.ref.name';
const LAYOUT_VERSION = '1.0.0';

/** Entries a layout berth is creating may hold before its `oci-layout` file appears (a crash mid-creation). */
const CREATION_ENTRIES = new Set(['blobs', INDEX_FILE, LOCK_FILE]);

/**
 * An OCI image layout directory (image-spec image-layout.md, version 1.x).
 * Blobs only appear under their name after their digest was verified, and
 * index.json is only ever replaced whole, under a lock, by re-reading and merging.
 */
export class OciLayout implements LayoutReader {
  /** `durable: false` skips fsyncs, for layouts that only stage an archive. */
  constructor(
    readonly root: string,
    private readonly durable = true,
  ) {}

  blobPath(digest: Digest): string {
    // Re-checked here because the path is built from it: a library caller's unchecked string must not escape.
    const checked = parseDigest(digest);
    return join(this.root, 'blobs', digestAlgorithm(checked), digestHex(checked));
  }

  /** Fail unless `root` is an OCI layout of a version berth reads. */
  async check(): Promise<void> {
    let text: string;
    try {
      text = await readFile(join(this.root, LAYOUT_FILE), 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') throw new BerthError('NOT_FOUND', `${this.root} is not an OCI image layout (no ${LAYOUT_FILE} file)`);
      throw err;
    }
    checkLayoutVersion(text, this.root);
  }

  async readIndex(): Promise<ImageIndex> {
    await this.check();
    const path = join(this.root, INDEX_FILE);
    let bytes: Buffer;
    try {
      bytes = await readBounded(path, MAX_MANIFEST_BYTES);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new BerthError('LAYOUT_INVALID', `${this.root} has no ${INDEX_FILE}`);
      throw err;
    }
    return parseIndexJson(bytes, this.root);
  }

  /**
   * Make sure the layout exists. A missing directory is built beside it and
   * renamed into place, so a crash leaves either nothing or a valid empty layout.
   */
  async ensure(): Promise<void> {
    const entries = await readdir(this.root).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      if (err.code === 'ENOTDIR') throw new BerthError('LAYOUT_INVALID', `${this.root} exists and is not a directory`);
      throw err;
    });
    if (entries === undefined) {
      await mkdir(dirname(this.root), { recursive: true });
      await removeOrphanSiblings(this.root);
      const staging = tempSibling(this.root);
      await mkdir(staging);
      try {
        await populate(staging);
        await rename(staging, this.root);
        await syncDirectory(dirname(this.root));
      } catch (err) {
        await rm(staging, { recursive: true, force: true });
        const code = (err as NodeJS.ErrnoException).code;
        // Another writer created it first: use theirs.
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
      }
      return this.check();
    }
    if (entries.includes(LAYOUT_FILE)) return this.check();
    if (entries.some((e) => !CREATION_ENTRIES.has(e) && !e.includes(TEMP_MARK))) {
      throw new BerthError('LAYOUT_INVALID', `${this.root} is a non-empty directory that is not an OCI image layout`);
    }
    await populate(this.root);
  }

  async hasBlob(descriptor: Descriptor): Promise<boolean> {
    try {
      const info = await stat(this.blobPath(descriptor.digest));
      return info.isFile() && info.size === descriptor.size;
    } catch {
      return false;
    }
  }

  async putBlob(descriptor: Descriptor, content: Readable): Promise<void> {
    const path = this.blobPath(descriptor.digest);
    await mkdir(dirname(path), { recursive: true });
    await storeVerifiedBlob(path, descriptor, content, this.durable);
  }

  /** Store bytes (a manifest) as a blob; returns their digest. */
  async putBytes(bytes: Buffer): Promise<Digest> {
    const digest = digestOf(bytes);
    const path = this.blobPath(digest);
    if (await this.hasBlob({ mediaType: 'application/octet-stream', digest, size: bytes.length })) return digest;
    await mkdir(dirname(path), { recursive: true });
    await writeFileAtomic(path, bytes, this.durable);
    return digest;
  }

  /** Read a small blob (manifest, config) whole, checking size and digest. */
  async readSmallBlob(digest: Digest, expectedSize?: number): Promise<Buffer> {
    let bytes: Buffer;
    try {
      bytes = await readBounded(this.blobPath(digest), MAX_MANIFEST_BYTES);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new BerthError('BLOB_UNKNOWN', `blob ${digest} is missing from ${this.root}`);
      throw err;
    }
    return checkSmallBlob(bytes, digest, expectedSize, this.root);
  }

  async openBlob(descriptor: Descriptor): Promise<Readable> {
    const path = this.blobPath(descriptor.digest);
    const handle = await open(path, 'r').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') throw new BerthError('BLOB_UNKNOWN', `blob ${descriptor.digest} is missing from ${this.root}`);
      throw err;
    });
    return handle.createReadStream({ highWaterMark: BLOB_READ_CHUNK });
  }

  /**
   * Change index.json under the layout lock: read the current one (another
   * writer may have committed since we started), apply `change`, replace atomically.
   */
  async updateIndex<T>(change: (index: ImageIndex) => Promise<IndexChange<T>> | IndexChange<T>): Promise<T> {
    return withFileLock(join(this.root, LOCK_FILE), async () => {
      const current = await this.readIndex();
      const { index, result, afterWrite } = await change(current);
      await writeFileAtomic(join(this.root, INDEX_FILE), serializeIndex(index), this.durable);
      await afterWrite?.();
      return result;
    });
  }

  /** Remove temp files left by berth processes that died (kill -9) while writing. */
  async removeOrphans(): Promise<void> {
    const dirs = [this.root, join(this.root, 'blobs', 'sha256'), join(this.root, 'blobs', 'sha512')];
    for (const dir of dirs) {
      const names = await readdir(dir).catch(() => [] as string[]);
      for (const name of names) {
        if (isOrphanTemp(name)) await rm(join(dir, name), { recursive: true, force: true });
      }
    }
  }

  /** Every blob digest reachable from `roots` (manifests, indexes, configs, layers) that exists here. */
  async reachable(roots: Descriptor[]): Promise<Set<Digest>> {
    const seen = new Set<Digest>();
    const queue = [...roots];
    while (queue.length > 0) {
      const descriptor = queue.pop() as Descriptor;
      if (seen.has(descriptor.digest)) continue;
      seen.add(descriptor.digest);
      if (!isManifestLike(descriptor.mediaType)) continue;
      let bytes: Buffer;
      try {
        bytes = await this.readSmallBlob(descriptor.digest);
      } catch {
        continue;
      }
      const parsed = parseManifest(bytes, descriptor.mediaType);
      if (parsed.kind === 'index') queue.push(...parsed.index.manifests);
      else queue.push(parsed.manifest.config, ...parsed.manifest.layers);
    }
    return seen;
  }
}

export interface IndexChange<T> {
  index: ImageIndex;
  result: T;
  /** Runs after the new index.json is in place, still under the lock (deleting blobs it no longer names). */
  afterWrite?: () => Promise<void>;
}

function isManifestLike(mediaType: string): boolean {
  return [MediaType.ociManifest, MediaType.ociIndex, MediaType.dockerManifest, MediaType.dockerManifestList].includes(mediaType as never);
}

async function populate(dir: string): Promise<void> {
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  await writeFileAtomic(join(dir, INDEX_FILE), serializeIndex({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] }));
  // oci-layout last: its presence says the layout is complete.
  await writeFileAtomic(join(dir, LAYOUT_FILE), JSON.stringify({ imageLayoutVersion: LAYOUT_VERSION }));
}

function serializeIndex(index: ImageIndex): string {
  const out: Record<string, unknown> = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: index.manifests };
  if (index.annotations) out.annotations = index.annotations;
  return JSON.stringify(out);
}
