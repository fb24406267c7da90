import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile, type FileHandle, open } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { DigestingStream, digestAlgorithm, digestHex, parseDigest, type Digest } from '../../../src/oci/digest.js';
import { BerthError, isBerthError } from '../../../src/errors/BerthError.js';
import { RegistryError } from '../http/registryError.js';
import { writeFileAtomic } from './atomicWrite.js';
import { ByteLimit } from './byteLimit.js';

/** What a referrers response lists for one manifest that names a subject. */
export interface ReferrerDescriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

/**
 * Content-addressed storage on the filesystem:
 *
 *   blobs/<alg>/<xx>/<hex>                        bytes of every blob and manifest, by digest
 *   repositories/<name>/_layers/<alg>/<hex>       empty marker: the blob belongs to this repository
 *   repositories/<name>/_manifests/revisions/<alg>/<hex>   the manifest's media type
 *   repositories/<name>/_manifests/tags/<tag>     the digest the tag points at
 *   repositories/<name>/_referrers/<alg>/<subject hex>/<alg>-<hex>   referrer descriptor JSON
 *   uploads/<uuid>/{data,repo}                    upload sessions in progress
 *   tmp/                                          whole-blob writes before their digest is verified
 *
 * Every file that another request could read appears by rename only, and one
 * file per fact (no shared index to read-modify-write) keeps concurrent pushes safe.
 */
export class RegistryStorage {
  readonly root: string;
  readonly tmpDir: string;
  readonly uploadsDir: string;
  readonly blobsDir: string;
  readonly reposDir: string;

  constructor(root: string) {
    this.root = root;
    this.tmpDir = join(root, 'tmp');
    this.uploadsDir = join(root, 'uploads');
    this.blobsDir = join(root, 'blobs');
    this.reposDir = join(root, 'repositories');
  }

  async init(): Promise<void> {
    for (const dir of [this.tmpDir, this.uploadsDir, this.blobsDir, this.reposDir]) await makeDirectory(dir);
  }

  blobPath(digest: Digest): string {
    const hex = digestHex(digest);
    return join(this.blobsDir, digestAlgorithm(digest), hex.slice(0, 2), hex);
  }

  repoPath(name: string): string {
    return join(this.reposDir, ...name.split('/'));
  }

  private layerLink(name: string, digest: Digest): string {
    return join(this.repoPath(name), '_layers', digestAlgorithm(digest), digestHex(digest));
  }

  private revisionLink(name: string, digest: Digest): string {
    return join(this.repoPath(name), '_manifests', 'revisions', digestAlgorithm(digest), digestHex(digest));
  }

  private tagsDir(name: string): string {
    return join(this.repoPath(name), '_manifests', 'tags');
  }

  private referrersDir(name: string, subject: Digest): string {
    return join(this.repoPath(name), '_referrers', digestAlgorithm(subject), digestHex(subject));
  }

  async repositoryExists(name: string): Promise<boolean> {
    return (await statOrUndefined(this.repoPath(name)))?.isDirectory() ?? false;
  }

  /** Size of a stored blob, or undefined when the registry does not hold it. */
  async blobSize(digest: Digest): Promise<number | undefined> {
    const info = await statOrUndefined(this.blobPath(digest));
    return info?.isFile() ? info.size : undefined;
  }

  /** A blob is visible in a repository when it was pushed or mounted there, or is one of its manifests. */
  async blobInRepository(name: string, digest: Digest): Promise<number | undefined> {
    const linked = (await exists(this.layerLink(name, digest))) || (await exists(this.revisionLink(name, digest)));
    return linked ? this.blobSize(digest) : undefined;
  }

  /** Open a blob for reading; the handle keeps the bytes readable even if gc unlinks the path meanwhile. */
  async openBlob(name: string, digest: Digest): Promise<{ handle: FileHandle; size: number } | undefined> {
    if ((await this.blobInRepository(name, digest)) === undefined) return undefined;
    try {
      const handle = await open(this.blobPath(digest), 'r');
      const info = await handle.stat();
      return { handle, size: info.size };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async linkBlob(name: string, digest: Digest): Promise<void> {
    const link = this.layerLink(name, digest);
    await mkdir(join(link, '..'), { recursive: true });
    await writeFile(link, '');
  }

  async unlinkBlob(name: string, digest: Digest): Promise<boolean> {
    return removeIfPresent(this.layerLink(name, digest));
  }

  /**
   * Stream bytes into the blob store. They land in tmp/ first and are renamed
   * into place only when their digest (and size, when given) matched.
   */
  async ingest(source: Readable, expected: { digest: Digest; size?: number }, maxBytes: number): Promise<{ digest: Digest; size: number }> {
    const tmp = join(this.tmpDir, `blob-${randomUUID()}`);
    const verifier = new DigestingStream({ digest: expected.digest, size: expected.size });
    try {
      await pipeline(source, new ByteLimit(maxBytes), verifier, createWriteStream(tmp, { highWaterMark: 256 << 10 }));
    } catch (err) {
      await rm(tmp, { force: true });
      throw asStorageError(err);
    }
    await this.commitFile(tmp, expected.digest);
    return { digest: expected.digest, size: verifier.bytes };
  }

  /** Move a verified file into the content store; a concurrent identical write simply wins the same name. */
  async commitFile(path: string, digest: Digest): Promise<void> {
    const target = this.blobPath(digest);
    await mkdir(join(target, '..'), { recursive: true });
    await rename(path, target);
  }

  async putBytes(data: Buffer, digest: Digest): Promise<void> {
    if ((await this.blobSize(digest)) === data.length) return;
    const tmp = join(this.tmpDir, `blob-${randomUUID()}`);
    await writeFile(tmp, data);
    await this.commitFile(tmp, digest);
  }

  // ---- manifests and tags ----

  async putManifest(name: string, digest: Digest, mediaType: string, bytes: Buffer): Promise<void> {
    await this.putBytes(bytes, digest);
    await writeFileAtomic(this.tmpDir, this.revisionLink(name, digest), mediaType);
  }

  /** The manifest's media type and bytes, or undefined when the repository has no such revision. */
  async getManifest(name: string, digest: Digest): Promise<{ mediaType: string; bytes: Buffer } | undefined> {
    let mediaType: string;
    try {
      mediaType = await readFile(this.revisionLink(name, digest), 'utf8');
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
    try {
      return { mediaType, bytes: await readFile(this.blobPath(digest)) };
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  async hasManifest(name: string, digest: Digest): Promise<boolean> {
    return exists(this.revisionLink(name, digest));
  }

  async deleteManifestRevision(name: string, digest: Digest): Promise<boolean> {
    const removed = await removeIfPresent(this.revisionLink(name, digest));
    for (const tag of await this.listTags(name)) {
      if ((await this.resolveTag(name, tag)) === digest) await removeIfPresent(join(this.tagsDir(name), tag));
    }
    return removed;
  }

  async setTag(name: string, tag: string, digest: Digest): Promise<void> {
    await writeFileAtomic(this.tmpDir, join(this.tagsDir(name), tag), digest);
  }

  async resolveTag(name: string, tag: string): Promise<Digest | undefined> {
    try {
      return parseDigest((await readFile(join(this.tagsDir(name), tag), 'utf8')).trim());
    } catch (err) {
      if (isMissing(err) || isBerthError(err)) return undefined;
      throw err;
    }
  }

  async deleteTag(name: string, tag: string): Promise<boolean> {
    return removeIfPresent(join(this.tagsDir(name), tag));
  }

  async listTags(name: string): Promise<string[]> {
    return (await readdirOrEmpty(this.tagsDir(name))).sort();
  }

  async listRevisions(name: string): Promise<Digest[]> {
    const out: Digest[] = [];
    const base = join(this.repoPath(name), '_manifests', 'revisions');
    for (const algorithm of await readdirOrEmpty(base)) {
      for (const hex of await readdirOrEmpty(join(base, algorithm))) out.push(`${algorithm}:${hex}` as Digest);
    }
    return out;
  }

  async listLayerLinks(name: string): Promise<Digest[]> {
    const out: Digest[] = [];
    const base = join(this.repoPath(name), '_layers');
    for (const algorithm of await readdirOrEmpty(base)) {
      for (const hex of await readdirOrEmpty(join(base, algorithm))) out.push(`${algorithm}:${hex}` as Digest);
    }
    return out;
  }

  // ---- referrers ----

  async addReferrer(name: string, subject: Digest, referrer: ReferrerDescriptor): Promise<void> {
    const file = join(this.referrersDir(name, subject), `${digestAlgorithm(referrer.digest)}-${digestHex(referrer.digest)}`);
    await writeFileAtomic(this.tmpDir, file, JSON.stringify(referrer));
  }

  async removeReferrer(name: string, subject: Digest, referrer: Digest): Promise<void> {
    await removeIfPresent(join(this.referrersDir(name, subject), `${digestAlgorithm(referrer)}-${digestHex(referrer)}`));
  }

  /** Referrers whose manifest is still in the repository, oldest file order first. */
  async listReferrers(name: string, subject: Digest): Promise<ReferrerDescriptor[]> {
    const dir = this.referrersDir(name, subject);
    const out: ReferrerDescriptor[] = [];
    for (const entry of (await readdirOrEmpty(dir)).sort()) {
      try {
        const descriptor = JSON.parse(await readFile(join(dir, entry), 'utf8')) as ReferrerDescriptor;
        if (await this.hasManifest(name, descriptor.digest)) out.push(descriptor);
      } catch (err) {
        if (!isMissing(err)) throw err;
      }
    }
    return out;
  }

  // ---- catalog ----

  /** Every repository name, sorted; a folder is a repository when it holds manifests or layer links. */
  async listRepositories(): Promise<string[]> {
    const out: string[] = [];
    const walk = async (dir: string, prefix: string): Promise<void> => {
      const entries = await readdirOrEmpty(dir);
      if (prefix && (entries.includes('_manifests') || entries.includes('_layers'))) out.push(prefix);
      for (const entry of entries) {
        if (entry.startsWith('_')) continue;
        const child = join(dir, entry);
        if ((await statOrUndefined(child))?.isDirectory()) await walk(child, prefix ? `${prefix}/${entry}` : entry);
      }
    };
    await walk(this.reposDir, '');
    return out.sort();
  }
}

function asStorageError(err: unknown): unknown {
  if (isBerthError(err, 'DIGEST_MISMATCH')) return new RegistryError(400, 'DIGEST_INVALID', err.message);
  if (isBerthError(err, 'SIZE_MISMATCH')) return new RegistryError(400, 'SIZE_INVALID', err.message);
  if (err instanceof RegistryError) return err;
  return err;
}

export function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

async function statOrUndefined(path: string) {
  try {
    return await stat(path);
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
}

async function exists(path: string): Promise<boolean> {
  return (await statOrUndefined(path)) !== undefined;
}

export async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if (isMissing(err)) return [];
    throw err;
  }
}

async function removeIfPresent(path: string): Promise<boolean> {
  try {
    await rm(path);
    return true;
  } catch (err) {
    if (isMissing(err)) return false;
    throw err;
  }
}

/**
 * mkdir -p one level at a time, so that a root that cannot exist fails with one message: Node's recursive mkdir
 * retries forever under /proc (ENOENT from a directory that exists), which left `serve --root /proc/x` spinning.
 */
async function makeDirectory(dir: string, parentMade = false): Promise<void> {
  try {
    await mkdir(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' && (await stat(dir)).isDirectory()) return;
    if (code === 'ENOENT' && !parentMade && dirname(dir) !== dir) {
      await makeDirectory(dirname(dir));
      return makeDirectory(dir, true);
    }
    throw new BerthError('IO_ERROR', `cannot create the registry's storage directory ${dir}: ${(err as Error).message}`);
  }
}
