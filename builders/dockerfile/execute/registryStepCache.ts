import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { copyFromSource } from '../../../src/copy/copyImage.js';
import { toBerthError } from '../../../src/errors/BerthError.js';
import { mutateImage } from '../../../src/image/mutateImage.js';
import { readImageConfig, selectImageManifest } from '../../../src/image/selectImage.js';
import { decompressStream } from '../../../src/layer/compression.js';
import { storedLayer, type NewLayer } from '../../../src/layer/newLayer.js';
import type { HistoryEntry } from '../../../src/oci/config.js';
import { DigestingStream } from '../../../src/oci/digest.js';
import { isLayerMediaType } from '../../../src/oci/mediaTypes.js';
import type { Platform } from '../../../src/oci/platform.js';
import { parseImageReference } from '../../../src/transports/transportRegistry.js';
import type { TransportOptions } from '../../../src/transports/types.js';

/** A cache a CI runner cannot reach must not hold the build up: short waits, no retries, then no more asking. */
const CACHE_REGISTRY_OPTIONS = { retryTimes: 0, timeouts: { connectMs: 5_000, headersMs: 15_000, bodyIdleMs: 30_000 } };

export interface RegistryStepCacheOptions {
  /** The repository (`docker://HOST/REPO`), kaniko's --cache-repo: each step is an image tagged with its cache key. */
  repository: string;
  transportOptions?: TransportOptions;
  /** Where fetched layers are kept (the local step cache's blobs, so a hit is local next time). */
  blobDir: string;
  /** Entries older than this are misses (--cache-ttl). */
  maxAgeMs?: number;
  onWarning: (message: string) => void;
}

/**
 * The build cache shared by CI runners (kaniko's --cache-repo): a step's layer is pushed as a one-layer image tagged
 * with the step's cache key, the same never-stale key as the local cache, and looked up there before a step runs, so
 * a runner with an empty disk gets hits. Every fetched blob is checked against its digest and the config's diff_id;
 * a cache that cannot be reached, or an entry that is corrupt, is a miss and a warning, never a failed or wrong build.
 */
export class RegistryStepCache {
  private reachable = true;
  private readonly pushes: Promise<void>[] = [];

  constructor(private readonly options: RegistryStepCacheOptions) {}

  private reference(key: string) {
    return parseImageReference(`${this.options.repository}:${key}`);
  }

  private transportOptions(): TransportOptions {
    const registry = { ...(this.options.transportOptions?.registry ?? {}), ...CACHE_REGISTRY_OPTIONS };
    return { ...this.options.transportOptions, registry };
  }

  private unreachable(what: string, err: unknown): void {
    this.reachable = false;
    this.options.onWarning(`warning: the cache repository ${this.options.repository} ${what}: ${toBerthError(err).message}; building without it`);
  }

  /** The step's layer from the repository, stored locally and verified; null on any miss. */
  async get(key: string, platform: Platform, history?: HistoryEntry): Promise<NewLayer | null> {
    if (!this.reachable) return null;
    let source;
    try {
      source = await this.reference(key).newSource(this.transportOptions());
    } catch (err) {
      this.unreachable('cannot be read', err);
      return null;
    }
    try {
      let selected;
      try {
        selected = await selectImageManifest(source, platform);
      } catch (err) {
        const code = toBerthError(err).code;
        if (code === 'MANIFEST_UNKNOWN' || code === 'NOT_FOUND' || code === 'NAME_UNKNOWN') return null;
        throw err;
      }
      const { manifest } = selected;
      const config = await readImageConfig(source, manifest);
      const layer = manifest.layers[0];
      const diffId = config.rootfs.diff_ids[0];
      if (manifest.layers.length !== 1 || !layer || !diffId || !isLayerMediaType(layer.mediaType)) throw new Error('the entry is not a one-layer image');
      if (this.options.maxAgeMs !== undefined && (!config.created || Date.now() - Date.parse(config.created) > this.options.maxAgeMs)) return null;
      const file = join(this.options.blobDir, layer.digest.replace(':', '-'));
      const temp = `${file}.fetch-${randomBytes(4).toString('hex')}`;
      mkdirSync(this.options.blobDir, { recursive: true, mode: 0o700 });
      try {
        // One pass: the compressed bytes are checked and written as they arrive, and inflated to check the diff_id.
        const fd = openSync(temp, 'wx', 0o600);
        try {
          const keep = new Transform({
            transform(chunk: Buffer, _encoding, done) {
              for (let written = 0; written < chunk.length; ) written += writeSync(fd, chunk, written);
              done(null, chunk);
            },
          });
          await pipeline(await source.getBlob(layer), new DigestingStream({ digest: layer.digest, size: layer.size }), keep, decompressStream(), new DigestingStream({ digest: diffId }), new Writable({ write: (_c, _e, done) => done() }));
        } finally {
          closeSync(fd);
        }
        await rename(temp, file);
      } finally {
        await rm(temp, { force: true });
      }
      return await storedLayer(this.options.blobDir, layer, diffId, history);
    } catch (err) {
      this.options.onWarning(`warning: cache entry ${this.options.repository}:${key.slice(0, 12)} is unusable (${toBerthError(err).message}); running the step`);
      return null;
    } finally {
      await source.close();
    }
  }

  /** Push a step's layer under its key, in the background; `flush` waits for every push and reports failures. */
  put(key: string, layer: NewLayer, platform: Platform, created?: string): void {
    if (!this.reachable) return;
    this.pushes.push(
      (async () => {
        const image = await mutateImage(undefined, { layers: [{ ...layer, history: { created_by: 'berth build cache' } }], platform, ...(created ? { created } : {}) });
        await copyFromSource(image, this.reference(key), { destinationOptions: this.transportOptions() });
      })().catch((err) => {
        if (this.reachable) this.unreachable('cannot be written', err);
      }),
    );
  }

  async flush(): Promise<void> {
    await Promise.all(this.pushes);
  }
}
