import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BerthError } from '../../errors/BerthError.js';
import { parseDescriptor, type Descriptor } from '../../oci/descriptor.js';
import { digestHex, digestOf, isDigest, parseDigest, type Digest } from '../../oci/digest.js';
import { MAX_MANIFEST_BYTES, parseManifest, type ParsedManifest } from '../../oci/manifest.js';
import { MediaType } from '../../oci/mediaTypes.js';
import { withFileLock } from '../../transports/files/fileLock.js';
import { LOCK_FILE } from '../../transports/oci-layout/OciLayout.js';
import type { ArtifactStore, StoredManifest } from './artifactStore.js';

const REF_NAME = 'org.opencontainers.image.ref.name';

interface LayoutIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
  [extra: string]: unknown;
}

/**
 * Signature storage in an OCI image layout. A tag is an index.json entry with
 * an org.opencontainers.image.ref.name annotation (so `sha256-<hex>.sig` is a
 * tag like any other); referrers are index.json entries whose manifest names a
 * subject. Blobs are written to a temp file and renamed into place, index.json
 * is replaced atomically.
 */
export class OciLayoutStore implements ArtifactStore {
  readonly description: string;

  constructor(readonly dir: string) {
    this.description = `oci:${dir}`;
  }

  private blobPath(digest: Digest): string {
    const algorithm = digest.slice(0, digest.indexOf(':'));
    return join(this.dir, 'blobs', algorithm, digestHex(digest));
  }

  async readIndex(): Promise<LayoutIndex> {
    let text: string;
    try {
      text = await readFile(join(this.dir, 'index.json'), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new BerthError('LAYOUT_INVALID', `${this.dir} is not an OCI layout (no index.json)`);
      throw err;
    }
    let doc: any;
    try {
      doc = JSON.parse(text);
    } catch {
      throw new BerthError('LAYOUT_INVALID', `${this.dir}/index.json is not valid JSON`);
    }
    if (!doc || doc.schemaVersion !== 2 || !Array.isArray(doc.manifests)) throw new BerthError('LAYOUT_INVALID', `${this.dir}/index.json is not an OCI index`);
    doc.manifests = doc.manifests.map((m: unknown, i: number) => {
      try {
        return parseDescriptor(m, `index.json entry ${i}`);
      } catch (err) {
        throw new BerthError('LAYOUT_INVALID', `${this.dir}: ${(err as Error).message}`);
      }
    });
    return doc as LayoutIndex;
  }

  private async writeIndex(index: LayoutIndex): Promise<void> {
    const target = join(this.dir, 'index.json');
    const temp = `${target}.${randomBytes(6).toString('hex')}.tmp`;
    await writeFile(temp, JSON.stringify(index));
    await rename(temp, target);
  }

  private async readBlob(digest: Digest, maxBytes: number): Promise<Buffer | undefined> {
    const path = this.blobPath(digest);
    let size: number;
    try {
      size = (await stat(path)).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    if (size > maxBytes) throw new BerthError('MANIFEST_INVALID', `${this.description}: blob ${digest} is larger than ${maxBytes} bytes`);
    const bytes = await readFile(path);
    if (digestOf(bytes) !== digest) throw new BerthError('DIGEST_MISMATCH', `${this.description}: blob ${digest} does not match its digest`);
    return bytes;
  }

  async getManifest(tagOrDigest: string): Promise<StoredManifest | undefined> {
    const index = await this.readIndex();
    let entry: Descriptor | undefined;
    if (isDigest(tagOrDigest)) entry = index.manifests.find((m) => m.digest === tagOrDigest) ?? { mediaType: '', digest: tagOrDigest, size: -1 };
    else entry = index.manifests.find((m) => m.annotations?.[REF_NAME] === tagOrDigest);
    if (!entry) return undefined;
    const bytes = await this.readBlob(entry.digest, MAX_MANIFEST_BYTES);
    if (!bytes) return undefined;
    const parsed = parseManifest(bytes, entry.mediaType || undefined);
    return { bytes, mediaType: parsed.mediaType, digest: entry.digest };
  }

  async getSmallBlob(descriptor: Descriptor, maxBytes: number): Promise<Buffer> {
    if (descriptor.size > maxBytes) throw new BerthError('SIGNATURE_INVALID', `blob ${descriptor.digest} declares ${descriptor.size} bytes, more than ${maxBytes}`);
    const bytes = await this.readBlob(descriptor.digest, maxBytes);
    if (!bytes) throw new BerthError('BLOB_UNKNOWN', `${this.description}: blob ${descriptor.digest} is missing`);
    if (bytes.length !== descriptor.size) throw new BerthError('SIZE_MISMATCH', `${this.description}: blob ${descriptor.digest} has ${bytes.length} bytes, descriptor says ${descriptor.size}`);
    return bytes;
  }

  async putBlob(bytes: Buffer, mediaType: string): Promise<Descriptor> {
    const digest = digestOf(bytes);
    const path = this.blobPath(digest);
    await mkdir(join(this.dir, 'blobs', 'sha256'), { recursive: true });
    const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    const handle = await open(temp, 'wx');
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await rename(temp, path);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
    return { mediaType, digest, size: bytes.length };
  }

  async putManifest(bytes: Buffer, mediaType: string, tag?: string): Promise<Digest> {
    const parsed = parseManifest(bytes, mediaType);
    const descriptor = await this.putBlob(bytes, parsed.mediaType);
    // The same lock the oci: transport takes, so a concurrent copy into this layout and a signature never lose each other's entries.
    return withFileLock(join(this.dir, LOCK_FILE), () => this.addIndexEntry(parsed, descriptor, tag));
  }

  private async addIndexEntry(parsed: ParsedManifest, descriptor: Descriptor, tag: string | undefined): Promise<Digest> {
    const index = await this.readIndex();
    const entry: Descriptor = { ...descriptor };
    if (parsed.kind === 'manifest' && parsed.manifest.artifactType) entry.artifactType = parsed.manifest.artifactType;
    if (tag !== undefined) {
      entry.annotations = { [REF_NAME]: tag };
      index.manifests = index.manifests.filter((m) => m.annotations?.[REF_NAME] !== tag);
    } else if (index.manifests.some((m) => m.digest === descriptor.digest && !m.annotations?.[REF_NAME])) {
      return descriptor.digest;
    }
    index.manifests.push(entry);
    await this.writeIndex(index);
    return descriptor.digest;
  }

  async listReferrers(digest: Digest, artifactType?: string): Promise<Descriptor[]> {
    parseDigest(digest);
    const index = await this.readIndex();
    const out: Descriptor[] = [];
    const seen = new Set<string>();
    for (const entry of index.manifests) {
      if (seen.has(entry.digest) || entry.mediaType !== MediaType.ociManifest) continue;
      seen.add(entry.digest);
      const bytes = await this.readBlob(entry.digest, MAX_MANIFEST_BYTES).catch(() => undefined);
      if (!bytes) continue;
      let parsed;
      try {
        parsed = parseManifest(bytes, entry.mediaType);
      } catch {
        continue;
      }
      if (parsed.kind !== 'manifest' || parsed.manifest.subject?.digest !== digest) continue;
      const type = parsed.manifest.artifactType ?? parsed.manifest.config.mediaType;
      if (artifactType !== undefined && type !== artifactType) continue;
      const descriptor: Descriptor = { mediaType: parsed.mediaType, digest: entry.digest, size: bytes.length, artifactType: type };
      if (parsed.manifest.annotations) descriptor.annotations = parsed.manifest.annotations;
      out.push(descriptor);
    }
    return out;
  }
}
