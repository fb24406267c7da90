import { Readable } from 'node:stream';
import { blobExists, blobStream, RegistryClient, uploadBlob, type RegistryOptions } from '../../../registry/client/index.js';
import { BerthError, isBerthError } from '../../errors/BerthError.js';
import { parseDescriptor, type Descriptor } from '../../oci/descriptor.js';
import { digestOf, type Digest } from '../../oci/digest.js';
import { parseManifest } from '../../oci/manifest.js';
import { MediaType } from '../../oci/mediaTypes.js';
import type { ArtifactStore, StoredManifest } from '../signatures.js';

/**
 * Signature storage in one registry repository, through berth's registry
 * client (auth, TLS, retries, redirects): manifests by tag or digest, small
 * blobs, uploads, and referrers (the API, or the `sha256-<hex>` tag index
 * where a registry lacks it, which berth then also keeps up to date).
 */
export class RegistryStore implements ArtifactStore {
  readonly description: string;
  private readonly client: RegistryClient;

  constructor(
    readonly domain: string,
    readonly repository: string,
    options: RegistryOptions = {},
  ) {
    this.description = `docker://${domain}/${repository}`;
    this.client = RegistryClient.for(domain, options);
  }

  async getManifest(tagOrDigest: string): Promise<StoredManifest | undefined> {
    let result;
    try {
      result = await this.client.getManifest(this.repository, tagOrDigest);
    } catch (err) {
      if (isBerthError(err, 'MANIFEST_UNKNOWN') || isBerthError(err, 'NOT_FOUND') || isBerthError(err, 'NAME_UNKNOWN')) return undefined;
      throw err;
    }
    const parsed = parseManifest(result.bytes, result.mediaType || undefined);
    return { bytes: result.bytes, mediaType: parsed.mediaType, digest: result.digest };
  }

  async getSmallBlob(descriptor: Descriptor, maxBytes: number): Promise<Buffer> {
    if (descriptor.size > maxBytes) throw new BerthError('SIGNATURE_INVALID', `blob ${descriptor.digest} declares ${descriptor.size} bytes, more than ${maxBytes}`);
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of blobStream(this.client, this.repository, descriptor) as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > descriptor.size) throw new BerthError('SIZE_MISMATCH', `${this.description}: blob ${descriptor.digest} is larger than its declared ${descriptor.size} bytes`);
      chunks.push(chunk);
    }
    const bytes = Buffer.concat(chunks, total);
    if (bytes.length !== descriptor.size) throw new BerthError('SIZE_MISMATCH', `${this.description}: blob ${descriptor.digest} has ${bytes.length} bytes, descriptor says ${descriptor.size}`);
    if (digestOf(bytes) !== descriptor.digest) throw new BerthError('DIGEST_MISMATCH', `${this.description}: blob ${descriptor.digest} does not match its digest`);
    return bytes;
  }

  async putBlob(bytes: Buffer, mediaType: string): Promise<Descriptor> {
    const descriptor: Descriptor = { mediaType, digest: digestOf(bytes), size: bytes.length };
    if (!(await blobExists(this.client, this.repository, descriptor.digest))) await uploadBlob(this.client, this.repository, descriptor, Readable.from([bytes]));
    return descriptor;
  }

  async putManifest(bytes: Buffer, mediaType: string, tag?: string): Promise<Digest> {
    return this.client.putManifest(this.repository, tag ?? digestOf(bytes), bytes, mediaType);
  }

  async listReferrers(digest: Digest, artifactType?: string): Promise<Descriptor[]> {
    const { index } = await this.client.referrers(this.repository, digest, artifactType);
    if (!index) return [];
    const parsed = parseManifest(index, MediaType.ociIndex);
    if (parsed.kind !== 'index') return [];
    return parsed.index.manifests
      .map((m, i) => parseDescriptor(m, `referrer ${i}`))
      .filter((m) => artifactType === undefined || m.artifactType === artifactType);
  }

  /** Where the referrers API is missing, keep the tag-schema index up to date ourselves (distribution-spec 1.1). */
  async recordReferrer(subject: Digest, descriptor: Descriptor): Promise<void> {
    const { index, viaFallbackTag } = await this.client.referrers(this.repository, subject);
    if (!viaFallbackTag) return;
    const manifests: Descriptor[] = [];
    if (index) {
      const parsed = parseManifest(index, MediaType.ociIndex);
      if (parsed.kind === 'index') manifests.push(...parsed.index.manifests);
    }
    if (manifests.some((m) => m.digest === descriptor.digest)) return;
    manifests.push(descriptor);
    const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests }));
    await this.putManifest(bytes, MediaType.ociIndex, subject.replace(':', '-'));
  }
}
