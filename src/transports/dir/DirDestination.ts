import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Readable } from 'node:stream';
import { BerthError } from '../../errors/BerthError.js';
import type { Descriptor } from '../../oci/descriptor.js';
import { digestOf, type Digest } from '../../oci/digest.js';
import { removeOrphanSiblings, syncDirectory, tempSibling, writeFileAtomic } from '../files/atomicWrite.js';
import { storeVerifiedBlob } from '../files/streamToFile.js';
import type { DestinationCapabilities, ImageDestination, ImageReference, ManifestBlob } from '../types.js';
import { blobFile, manifestFile, VERSION_FILE, VERSION_TEXT } from './dirFormat.js';

/**
 * Writes a `dir:` image into a staging sibling of PATH; commit swaps it into
 * place. An existing PATH is replaced only if it is empty or a `dir:` image
 * (has a `version` file), as skopeo does: other directories are never clobbered.
 */
export class DirDestination implements ImageDestination {
  readonly capabilities: DestinationCapabilities = { index: true };
  private readonly stored = new Set<Digest>();
  private committed = false;

  private constructor(
    readonly reference: ImageReference,
    private readonly dir: string,
    private readonly staging: string,
  ) {}

  static async open(reference: ImageReference, dir: string): Promise<DirDestination> {
    await checkReplaceable(dir);
    await mkdir(dirname(dir), { recursive: true });
    await removeOrphanSiblings(dir);
    const staging = tempSibling(dir);
    await mkdir(staging);
    return new DirDestination(reference, dir, staging);
  }

  async tryReuseBlob(descriptor: Descriptor): Promise<boolean> {
    return this.stored.has(descriptor.digest);
  }

  async putBlob(descriptor: Descriptor, content: Readable): Promise<void> {
    await storeVerifiedBlob(blobFile(this.staging, descriptor.digest), descriptor, content);
    this.stored.add(descriptor.digest);
  }

  async putManifest(manifest: ManifestBlob, instanceDigest?: Digest): Promise<void> {
    if (instanceDigest !== undefined && digestOf(manifest.bytes) !== instanceDigest) {
      throw new BerthError('DIGEST_MISMATCH', `instance manifest does not have digest ${instanceDigest}`);
    }
    await writeFile(manifestFile(this.staging, instanceDigest), manifest.bytes);
  }

  async commit(): Promise<void> {
    await writeFileAtomic(`${this.staging}/${VERSION_FILE}`, VERSION_TEXT);
    await checkReplaceable(this.dir);
    const old = await stat(this.dir).then(
      () => tempSibling(this.dir),
      () => undefined,
    );
    if (old !== undefined) await rename(this.dir, old);
    await rename(this.staging, this.dir);
    await syncDirectory(dirname(this.dir));
    this.committed = true;
    if (old !== undefined) await rm(old, { recursive: true, force: true });
  }

  async close(): Promise<void> {
    if (!this.committed) await rm(this.staging, { recursive: true, force: true });
  }
}

async function checkReplaceable(dir: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    if (code === 'ENOTDIR') throw new BerthError('ALREADY_EXISTS', `${dir} exists and is not a directory`);
    throw err;
  }
  if (entries.length > 0 && !entries.includes(VERSION_FILE)) {
    throw new BerthError('ALREADY_EXISTS', `${dir} is a non-empty directory that is not a dir: image; refusing to overwrite it`);
  }
}
