import { BerthError, isBerthError } from '../../../src/errors/BerthError.js';
import { MediaType } from '../../../src/oci/mediaTypes.js';
import { isDigest, type Digest } from '../../../src/oci/digest.js';
import { parseManifest } from '../../../src/oci/manifest.js';
import { blobStream, headBlob, RegistryClient, type RegistryOptions } from '../../client/index.js';
import type { RegistryStorage } from '../storage/registryStorage.js';

export interface MirrorOptions {
  /** Upstream registry, e.g. https://registry.example or http://127.0.0.1:5001 */
  remote: string;
  /** `user:password` for the upstream. */
  creds?: string;
}

/**
 * Pull-through mirror: what clients ask for and the local storage lacks is
 * fetched from the upstream registry with berth's own client, verified
 * against its digest, stored, and then served from storage like anything
 * else (never streamed through unverified). Tags are re-resolved upstream on
 * every request and fall back to the cached tag when the upstream cannot be
 * reached.
 */
export class PullThroughMirror {
  private readonly client: RegistryClient;
  private readonly inFlight = new Map<string, Promise<void>>();

  constructor(private readonly storage: RegistryStorage, options: MirrorOptions) {
    let url: URL | undefined;
    try {
      url = new URL(options.remote);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.pathname.length > 1) {
      throw new BerthError('USAGE', `invalid upstream registry URL "${options.remote}" (expected http(s)://HOST[:PORT])`);
    }
    const clientOptions: RegistryOptions = { retryTimes: 2, retryDelayMs: 200 };
    if (url.protocol === 'http:') clientOptions.tlsVerify = false;
    if (options.creds) clientOptions.creds = options.creds;
    this.client = new RegistryClient(url.host, clientOptions);
  }

  /** Make sure `reference` of `name` is in storage (refreshing a tag from upstream when possible). */
  async ensureManifest(name: string, reference: string): Promise<void> {
    if (isDigest(reference) && (await this.storage.hasManifest(name, reference))) return;
    await this.once(`manifest ${name} ${reference}`, async () => {
      let fetched;
      try {
        fetched = await this.client.getManifest(name, reference);
      } catch (err) {
        if (isBerthError(err, 'MANIFEST_UNKNOWN') || isBerthError(err, 'NAME_UNKNOWN')) return;
        // Upstream down or refusing: serve what the cache has (the caller answers 404 otherwise).
        if (isBerthError(err)) return;
        throw err;
      }
      let mediaType: string;
      try {
        mediaType = parseManifest(fetched.bytes, fetched.mediaType).mediaType;
      } catch {
        mediaType = fetched.mediaType || MediaType.ociManifest;
      }
      await this.storage.putManifest(name, fetched.digest, mediaType, fetched.bytes);
      if (!isDigest(reference)) await this.storage.setTag(name, reference, fetched.digest);
    });
  }

  /** Make sure the blob is in storage and linked to `name`, fetching and verifying it upstream when missing. */
  async ensureBlob(name: string, digest: Digest): Promise<void> {
    if ((await this.storage.blobInRepository(name, digest)) !== undefined) return;
    await this.once(`blob ${digest}`, async () => {
      if ((await this.storage.blobSize(digest)) === undefined) {
        let size: number | undefined;
        try {
          const head = await headBlob(this.client, name, digest);
          if (!head) return;
          size = head.size;
        } catch (err) {
          if (isBerthError(err)) return;
          throw err;
        }
        const stream = blobStream(this.client, name, { mediaType: 'application/octet-stream', digest, size: size ?? 0 });
        await this.storage.ingest(stream, { digest, ...(size !== undefined ? { size } : {}) }, Number.POSITIVE_INFINITY);
      }
      await this.storage.linkBlob(name, digest);
    });
  }

  /** The upstream's tags, or undefined when it cannot say (the local list is used then). */
  async tags(name: string): Promise<string[] | undefined> {
    try {
      return [...new Set(await this.client.listTags(name))].sort();
    } catch (err) {
      if (isBerthError(err)) return undefined;
      throw err;
    }
  }

  /** Concurrent requests for the same content share one upstream fetch. */
  private async once(key: string, work: () => Promise<void>): Promise<void> {
    let running = this.inFlight.get(key);
    if (!running) {
      running = work().finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, running);
    }
    await running;
  }
}
