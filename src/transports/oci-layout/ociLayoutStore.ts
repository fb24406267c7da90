import { BerthError, isBerthError } from '../../errors/BerthError.js';
import type { Descriptor } from '../../oci/descriptor.js';
import { isDigest, parseDigest, type Digest } from '../../oci/digest.js';
import type { ImageIndex } from '../../oci/manifest.js';
import { parseManifest } from '../../oci/manifest.js';
import { MediaType } from '../../oci/mediaTypes.js';
import { OciLayout, REF_NAME } from './OciLayout.js';
import type { ArtifactStore, StoredManifest } from '../signatures.js';

/**
 * Signature storage in an OCI image layout, on the oci: transport's own
 * OciLayout (verified blob writes, index.json changed only under its lock),
 * so a concurrent copy into the layout and a signature never lose each other's
 * entries. A tag is an index.json entry with a ref.name annotation (so
 * `sha256-<hex>.sig` is a tag like any other); referrers are index.json entries
 * whose manifest names a subject.
 */
export class OciLayoutStore implements ArtifactStore {
  readonly description: string;
  private readonly layout: OciLayout;

  constructor(readonly dir: string) {
    this.description = `oci:${dir}`;
    this.layout = new OciLayout(dir);
  }

  readIndex(): Promise<ImageIndex> {
    return this.layout.readIndex();
  }

  /** A stored manifest's bytes, or undefined when the blob is not there. */
  private async readManifestBlob(digest: Digest, size?: number): Promise<Buffer | undefined> {
    try {
      return await this.layout.readSmallBlob(digest, size);
    } catch (err) {
      if (isBerthError(err, 'BLOB_UNKNOWN')) return undefined;
      throw err;
    }
  }

  async getManifest(tagOrDigest: string): Promise<StoredManifest | undefined> {
    const index = await this.readIndex();
    const entry = isDigest(tagOrDigest)
      ? (index.manifests.find((m) => m.digest === tagOrDigest) ?? { mediaType: '', digest: tagOrDigest, size: -1 })
      : index.manifests.find((m) => m.annotations?.[REF_NAME] === tagOrDigest);
    if (!entry) return undefined;
    const bytes = await this.readManifestBlob(entry.digest, entry.size >= 0 ? entry.size : undefined);
    if (!bytes) return undefined;
    const parsed = parseManifest(bytes, entry.mediaType || undefined);
    return { bytes, mediaType: parsed.mediaType, digest: entry.digest };
  }

  async getSmallBlob(descriptor: Descriptor, maxBytes: number): Promise<Buffer> {
    if (descriptor.size > maxBytes) throw new BerthError('SIGNATURE_INVALID', `blob ${descriptor.digest} declares ${descriptor.size} bytes, more than ${maxBytes}`);
    return this.layout.readSmallBlob(descriptor.digest, descriptor.size);
  }

  async putBlob(bytes: Buffer, mediaType: string): Promise<Descriptor> {
    await this.layout.ensure();
    return { mediaType, digest: await this.layout.putBytes(bytes), size: bytes.length };
  }

  async putManifest(bytes: Buffer, mediaType: string, tag?: string): Promise<Digest> {
    const parsed = parseManifest(bytes, mediaType);
    const descriptor = await this.putBlob(bytes, parsed.mediaType);
    const entry: Descriptor = { ...descriptor };
    if (parsed.kind === 'manifest' && parsed.manifest.artifactType) entry.artifactType = parsed.manifest.artifactType;
    return this.layout.updateIndex((index) => {
      if (tag !== undefined) {
        entry.annotations = { [REF_NAME]: tag };
        index.manifests = index.manifests.filter((m) => m.annotations?.[REF_NAME] !== tag);
      } else if (index.manifests.some((m) => m.digest === descriptor.digest && !m.annotations?.[REF_NAME])) {
        return { index, result: descriptor.digest };
      }
      index.manifests.push(entry);
      return { index, result: descriptor.digest };
    });
  }

  async listReferrers(digest: Digest, artifactType?: string): Promise<Descriptor[]> {
    parseDigest(digest);
    const index = await this.readIndex();
    const out: Descriptor[] = [];
    const seen = new Set<string>();
    for (const entry of index.manifests) {
      if (seen.has(entry.digest) || entry.mediaType !== MediaType.ociManifest) continue;
      seen.add(entry.digest);
      const bytes = await this.readManifestBlob(entry.digest, entry.size).catch(() => undefined);
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
