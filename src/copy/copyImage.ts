import { pipeline } from 'node:stream';
import type { Readable } from 'node:stream';
import { BerthError } from '../errors/BerthError.js';
import type { Descriptor } from '../oci/descriptor.js';
import { DigestingStream, type Digest } from '../oci/digest.js';
import { manifestBlobs, parseManifest, type ImageIndex, type ParsedManifest } from '../oci/manifest.js';
import { layerInfo } from '../oci/mediaTypes.js';
import { formatPlatform, hostPlatform, platformMatches, type Platform } from '../oci/platform.js';
import type { ImageDestination, ImageReference, ImageSource, ManifestBlob, TransportOptions } from '../transports/types.js';
import { forEachBounded } from './boundedParallel.js';
import type { ProgressListener } from './progress.js';

export interface CopyOptions {
  /** Copy every instance of an index (skopeo --all). */
  all?: boolean;
  /** Copy only these platforms of an index; the result is an index of just them (never a sparse one). */
  platforms?: Platform[];
  /** Fail rather than change any manifest digest (skopeo --preserve-digests). */
  preserveDigests?: boolean;
  /** Blobs in flight at once. */
  parallelism?: number;
  /** Copy non-distributable (foreign) layers too; by default they are referenced, not copied, as docker does. */
  includeForeignLayers?: boolean;
  sourceOptions?: TransportOptions;
  destinationOptions?: TransportOptions;
  onProgress?: ProgressListener;
  /**
   * Runs after the destination committed, once per copied manifest digest (top level and instances):
   * where signatures are carried (see src/sign). A failure fails the copy.
   */
  afterCommit?: (context: CopiedImage) => Promise<void>;
}

export interface CopiedImage {
  source: ImageReference;
  destination: ImageReference;
  /** Digest of the top-level manifest as written. */
  manifestDigest: Digest;
  /** Digests of instance manifests (empty for a single image). */
  instanceDigests: Digest[];
}

export interface CopyResult extends CopiedImage {
  mediaType: string;
  blobsCopied: number;
  blobsReused: number;
  blobsSkipped: number;
  bytesCopied: number;
}

interface Counters {
  blobsCopied: number;
  blobsReused: number;
  blobsSkipped: number;
  bytesCopied: number;
}

const DEFAULT_PARALLELISM = 4;
const PROGRESS_INTERVAL_MS = 250;

/**
 * The one copy pipeline: every movement of an image goes through here.
 * Order is what makes a destination trustworthy after a crash: blobs before
 * the manifest that names them, instances before their index, commit last.
 */
export async function copyImage(from: ImageReference, to: ImageReference, options: CopyOptions = {}): Promise<CopyResult> {
  const source = await from.newSource(options.sourceOptions);
  try {
    return await copyFromSource(source, to, options);
  } finally {
    await source.close();
  }
}

/**
 * The same pipeline from an already open source: how builders hand over an
 * image they describe lazily (a base plus new layers) without writing it first.
 * The caller keeps ownership of `source`.
 */
export async function copyFromSource(source: ImageSource, to: ImageReference, options: CopyOptions = {}): Promise<CopyResult> {
  const destination = await to.newDestination(options.destinationOptions);
  try {
    const counters: Counters = { blobsCopied: 0, blobsReused: 0, blobsSkipped: 0, bytesCopied: 0 };
    const run = new CopyRun(source, destination, options, counters);
    const top = await run.readManifest();
    const written = top.kind === 'index' ? await run.copyIndex(top) : await run.copyImageManifest(top, undefined);
    await destination.commit();
    const copied: CopiedImage = { source: source.reference, destination: to, manifestDigest: written.digest, instanceDigests: written.instances };
    await options.afterCommit?.(copied);
    return { ...copied, mediaType: written.mediaType, ...counters };
  } finally {
    await destination.close();
  }
}

interface Written {
  digest: Digest;
  mediaType: string;
  instances: Digest[];
}

class CopyRun {
  constructor(
    private readonly source: ImageSource,
    private readonly destination: ImageDestination,
    private readonly options: CopyOptions,
    private readonly counters: Counters,
  ) {}

  async readManifest(instance?: Descriptor): Promise<ParsedManifest> {
    const blob = await this.source.getManifest(instance?.digest);
    const parsed = parseManifest(blob.bytes, blob.mediaType);
    if (instance && parsed.digest !== instance.digest) {
      throw new BerthError('DIGEST_MISMATCH', `manifest ${instance.digest} from ${this.source.reference.toString()} has digest ${parsed.digest}`);
    }
    return parsed;
  }

  async copyIndex(top: Extract<ParsedManifest, { kind: 'index' }>): Promise<Written> {
    const wanted = this.selectInstances(top.index);
    const keepIndex = this.options.all === true || this.options.platforms !== undefined;
    if (!keepIndex || !this.destination.capabilities.index) {
      if (wanted.length !== 1) {
        throw new BerthError('UNSUPPORTED', `${this.destination.reference.toString()} holds a single image; choose one platform with --platform`);
      }
      const instance = await this.readManifest(wanted[0]);
      if (instance.kind !== 'manifest') throw new BerthError('UNSUPPORTED', 'nested indexes cannot be stored as a single image');
      return this.copyImageManifest(instance, undefined);
    }
    const instances: Digest[] = [];
    for (const descriptor of wanted) {
      const instance = await this.readManifest(descriptor);
      if (instance.kind === 'index') {
        const nested = await this.copyNestedIndex(instance);
        instances.push(...nested.instances, nested.digest);
      } else {
        await this.copyImageManifest(instance, descriptor.digest);
        instances.push(descriptor.digest);
      }
    }
    const indexBlob = this.indexFor(top, wanted);
    const digest = parseManifest(indexBlob.bytes, indexBlob.mediaType).digest;
    this.checkAccepted(indexBlob.mediaType);
    await this.destination.putManifest(indexBlob);
    this.options.onProgress?.({ type: 'manifest', digest, mediaType: indexBlob.mediaType, instance: false });
    return { digest, mediaType: indexBlob.mediaType, instances };
  }

  private async copyNestedIndex(index: Extract<ParsedManifest, { kind: 'index' }>): Promise<Written> {
    const instances: Digest[] = [];
    for (const descriptor of index.index.manifests) {
      const instance = await this.readManifest(descriptor);
      if (instance.kind === 'index') throw new BerthError('UNSUPPORTED', 'indexes nested more than two levels deep are not supported');
      await this.copyImageManifest(instance, descriptor.digest);
      instances.push(descriptor.digest);
    }
    await this.destination.putManifest({ bytes: index.bytes, mediaType: index.mediaType }, index.digest);
    return { digest: index.digest, mediaType: index.mediaType, instances };
  }

  /** Which instances of an index to copy: all, the requested platforms (each must exist), or the host's. */
  private selectInstances(index: ImageIndex): Descriptor[] {
    if (this.options.all) return index.manifests;
    const platforms = this.options.platforms ?? [hostPlatform()];
    const chosen: Descriptor[] = [];
    for (const platform of platforms) {
      const match = index.manifests.find((m) => platformMatches(platform, m.platform));
      if (!match) {
        const available = index.manifests.map((m) => (m.platform ? formatPlatform(m.platform) : 'unknown')).join(', ');
        throw new BerthError('PLATFORM_NOT_FOUND', `no image for platform ${formatPlatform(platform)} in ${this.source.reference.toString()} (available: ${available || 'none'})`);
      }
      if (!chosen.includes(match)) chosen.push(match);
    }
    return chosen;
  }

  /** The index to write: the original bytes when every instance is kept, else a copy listing only the chosen ones. */
  private indexFor(top: Extract<ParsedManifest, { kind: 'index' }>, chosen: Descriptor[]): ManifestBlob {
    if (chosen.length === top.index.manifests.length) return { bytes: top.bytes, mediaType: top.mediaType };
    if (this.options.preserveDigests) {
      throw new BerthError('UNSUPPORTED', 'copying a subset of platforms changes the index digest, which --preserve-digests forbids');
    }
    const doc = JSON.parse(top.bytes.toString('utf8')) as { manifests: unknown[] };
    doc.manifests = chosen;
    return { bytes: Buffer.from(JSON.stringify(doc)), mediaType: top.mediaType };
  }

  async copyImageManifest(image: Extract<ParsedManifest, { kind: 'manifest' }>, instanceDigest: Digest | undefined): Promise<Written> {
    this.checkAccepted(image.mediaType);
    const blobs = uniqueByDigest(manifestBlobs(image.manifest));
    this.options.onProgress?.({ type: 'image', manifestDigest: image.digest, blobs: blobs.length });
    await forEachBounded(blobs, this.options.parallelism ?? DEFAULT_PARALLELISM, (blob) => this.copyBlob(blob));
    await this.destination.putManifest({ bytes: image.bytes, mediaType: image.mediaType }, instanceDigest);
    this.options.onProgress?.({ type: 'manifest', digest: image.digest, mediaType: image.mediaType, instance: instanceDigest !== undefined });
    return { digest: image.digest, mediaType: image.mediaType, instances: [] };
  }

  private checkAccepted(mediaType: string): void {
    const accepted = this.destination.capabilities.manifestMediaTypes;
    if (accepted && !accepted.includes(mediaType)) {
      throw new BerthError('UNSUPPORTED', `${this.destination.reference.toString()} cannot store ${mediaType} manifests`);
    }
  }

  private async copyBlob(descriptor: Descriptor): Promise<void> {
    const progress = this.options.onProgress;
    if (layerInfo(descriptor.mediaType)?.foreign && descriptor.urls?.length && !this.options.includeForeignLayers) {
      this.counters.blobsSkipped++;
      progress?.({ type: 'blob-skipped', descriptor, reason: 'non-distributable layer' });
      return;
    }
    if (await this.destination.tryReuseBlob(descriptor)) {
      this.counters.blobsReused++;
      progress?.({ type: 'blob-reused', descriptor });
      return;
    }
    progress?.({ type: 'blob-start', descriptor });
    const verified = verifiedStream(await this.source.getBlob(descriptor), descriptor);
    const timer = progress ? setInterval(() => progress({ type: 'blob-progress', descriptor, bytes: verified.bytes }), PROGRESS_INTERVAL_MS) : undefined;
    try {
      await this.destination.putBlob(descriptor, verified);
    } finally {
      clearInterval(timer);
    }
    if (!verified.writableFinished) throw new BerthError('INTERNAL', `destination stored ${descriptor.digest} before reading all of it`);
    this.counters.blobsCopied++;
    this.counters.bytesCopied += verified.bytes;
    progress?.({ type: 'blob-done', descriptor, bytes: verified.bytes });
  }
}

/**
 * Wrap a source stream so that it fails, at the latest at its end, unless the
 * bytes match the descriptor. Destinations verify again before renaming; this
 * check is what guarantees it whatever the destination does.
 */
export function verifiedStream(raw: Readable, descriptor: Descriptor): DigestingStream {
  const verifier = new DigestingStream({ digest: descriptor.digest, size: descriptor.size });
  pipeline(raw, verifier, () => undefined);
  return verifier;
}

function uniqueByDigest(descriptors: Descriptor[]): Descriptor[] {
  const seen = new Set<string>();
  return descriptors.filter((d) => !seen.has(d.digest) && seen.add(d.digest));
}
