import { pipeline } from 'node:stream';
import type { Readable, TransformCallback } from 'node:stream';
import { BerthError, isBerthError } from '../errors/BerthError.js';
import type { Descriptor } from '../oci/descriptor.js';
import { DigestingStream, digestOf, type Digest } from '../oci/digest.js';
import { manifestBlobs, parseManifest, type ImageIndex, type ParsedManifest } from '../oci/manifest.js';
import { MediaType, layerInfo } from '../oci/mediaTypes.js';
import { formatPlatform, hostPlatform, platformMatches, type Platform } from '../oci/platform.js';
import type { ImageDestination, ImageReference, ImageSource, TransportOptions } from '../transports/types.js';
import { forEachBounded } from './boundedParallel.js';
import { buildIndex, convertImageManifest, familyOf, type ManifestFamily } from './convertManifest.js';
import type { ProgressListener } from './progress.js';
import { releaseStreamedBuffers } from './releaseStreamedBuffers.js';

export interface CopyOptions {
  /** Copy every instance of an index (skopeo --all). */
  all?: boolean;
  /** Copy only these platforms of an index; the result is an index of just them (never a sparse one). */
  platforms?: Platform[];
  /** Fail rather than change any manifest digest (skopeo --preserve-digests). */
  preserveDigests?: boolean;
  /** Write manifests of this family, converting when the source's differ (skopeo --format, buildah --format). */
  manifestFormat?: ManifestFamily;
  /** Blobs in flight at once. */
  parallelism?: number;
  /**
   * Times a blob whose transfer broke on the network is copied again from its
   * start (default 0). Requests are retried by the registry client itself; this
   * covers what it cannot replay, such as a streamed upload that died half-way.
   */
  blobRetries?: number;
  /** Copy non-distributable (foreign) layers too; by default they are referenced, not copied, as docker does. */
  includeForeignLayers?: boolean;
  sourceOptions?: TransportOptions;
  destinationOptions?: TransportOptions;
  onProgress?: ProgressListener;
  /**
   * Runs once the source's top-level manifest is read and before anything is
   * written: where trust policy is enforced. Throwing refuses the copy.
   */
  admit?: (image: { source: ImageReference; destination: ImageReference; manifestDigest: Digest }) => Promise<void>;
  /**
   * Runs before the destination commits, with the open destination: where signatures go into destinations
   * that hold them inside what commit writes (an oci-archive). A failure fails the copy; nothing is committed.
   */
  beforeCommit?: (image: CopiedImage, writing: ImageDestination) => Promise<void>;
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
  const top = await readSourceManifest(source);
  await options.admit?.({ source: source.reference, destination: to, manifestDigest: top.digest });
  const destination = await to.newDestination(options.destinationOptions);
  try {
    if (options.preserveDigests && destination.capabilities.keepsManifests === false) {
      throw new BerthError('UNSUPPORTED', `${to.toString()} does not keep manifests (it is read back with another digest), which --preserve-digests forbids`);
    }
    const counters: Counters = { blobsCopied: 0, blobsReused: 0, blobsSkipped: 0, bytesCopied: 0 };
    const run = new CopyRun(source, destination, options, counters);
    const written = top.kind === 'index' ? await run.copyIndex(top) : await run.copyImageManifest(top, false);
    const copied: CopiedImage = { source: source.reference, destination: to, manifestDigest: written.digest, instanceDigests: written.instances };
    await options.beforeCommit?.(copied, destination);
    await destination.commit();
    await options.afterCommit?.(copied);
    return { ...copied, mediaType: written.mediaType, ...counters };
  } finally {
    await destination.close();
  }
}

/** Read and validate a manifest of the source; an instance must have the digest its index names. */
async function readSourceManifest(source: ImageSource, instance?: Descriptor): Promise<ParsedManifest> {
  const blob = await source.getManifest(instance?.digest);
  const parsed = parseManifest(blob.bytes, blob.mediaType);
  if (instance && parsed.digest !== instance.digest) {
    throw new BerthError('DIGEST_MISMATCH', `manifest ${instance.digest} from ${source.reference.toString()} has digest ${parsed.digest}`);
  }
  return parsed;
}

interface Written {
  digest: Digest;
  mediaType: string;
  size: number;
  /** Instances written below this manifest (for an index), in order. */
  instances: Digest[];
}

type ParsedIndex = Extract<ParsedManifest, { kind: 'index' }>;
type ParsedImage = Extract<ParsedManifest, { kind: 'manifest' }>;

class CopyRun {
  constructor(
    private readonly source: ImageSource,
    private readonly destination: ImageDestination,
    private readonly options: CopyOptions,
    private readonly counters: Counters,
  ) {}

  private readManifest(instance: Descriptor): Promise<ParsedManifest> {
    return readSourceManifest(this.source, instance);
  }

  async copyIndex(top: ParsedIndex): Promise<Written> {
    const wanted = this.selectInstances(top.index);
    const keepIndex = this.options.all === true || this.options.platforms !== undefined;
    if (!keepIndex || !this.destination.capabilities.index) {
      if (wanted.length !== 1) {
        throw new BerthError('UNSUPPORTED', `${this.destination.reference.toString()} holds a single image; choose one platform with --platform`);
      }
      const instance = await this.readManifest(wanted[0]);
      if (instance.kind !== 'manifest') throw new BerthError('UNSUPPORTED', 'nested indexes cannot be stored as a single image');
      return this.copyImageManifest(instance, false);
    }
    return this.writeIndex(top, wanted, false, 1);
  }

  /**
   * Copy the chosen instances, then the index. The source's exact bytes are
   * kept unless instances were dropped or converted; then a new index lists
   * exactly what was written.
   */
  private async writeIndex(index: ParsedIndex, chosen: Descriptor[], asInstance: boolean, depth: number): Promise<Written> {
    const family = this.targetFamily(index.mediaType);
    const written: Descriptor[] = [];
    const instances: Digest[] = [];
    for (const descriptor of chosen) {
      const instance = await this.readManifest(descriptor);
      if (instance.kind === 'index' && depth > 1) throw new BerthError('UNSUPPORTED', 'indexes nested more than two levels deep are not supported');
      const result = instance.kind === 'index' ? await this.writeIndex(instance, instance.index.manifests, true, depth + 1) : await this.copyImageManifest(instance, true);
      instances.push(...result.instances, result.digest);
      written.push({ ...descriptor, mediaType: result.mediaType, digest: result.digest, size: result.size });
    }
    const unchanged = family === undefined && chosen.length === index.index.manifests.length && written.every((w, i) => w.digest === index.index.manifests[i]?.digest);
    if (!unchanged && this.options.preserveDigests) {
      throw new BerthError('UNSUPPORTED', 'this copy changes the index digest (platform subset or format conversion), which --preserve-digests forbids');
    }
    const bytes = unchanged ? index.bytes : buildIndex(index.index, family ?? (familyOf(index.mediaType) as ManifestFamily), written);
    const mediaType = unchanged ? index.mediaType : family === 'docker' || (family === undefined && familyOf(index.mediaType) === 'docker') ? MediaType.dockerManifestList : MediaType.ociIndex;
    const digest = unchanged ? index.digest : digestOf(bytes);
    await this.destination.putManifest({ bytes, mediaType }, asInstance ? digest : undefined);
    this.options.onProgress?.({ type: 'manifest', digest, mediaType, instance: asInstance });
    return { digest, mediaType, size: bytes.length, instances };
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
    return index.manifests.filter((m) => chosen.includes(m));
  }

  async copyImageManifest(image: ParsedImage, asInstance: boolean): Promise<Written> {
    const family = this.targetFamily(image.mediaType);
    const bytes = family ? convertImageManifest(image.manifest, family) : image.bytes;
    const mediaType = family === undefined ? image.mediaType : family === 'oci' ? MediaType.ociManifest : MediaType.dockerManifest;
    const digest = family ? digestOf(bytes) : image.digest;
    const blobs = uniqueByDigest(manifestBlobs(image.manifest));
    this.options.onProgress?.({ type: 'image', manifestDigest: digest, blobs: blobs.length });
    await forEachBounded(blobs, this.options.parallelism ?? DEFAULT_PARALLELISM, (blob) => this.copyBlob(blob));
    const kept = (await this.destination.putManifest({ bytes, mediaType }, asInstance ? digest : undefined)) ?? { bytes, mediaType };
    const written = kept.bytes === bytes ? digest : digestOf(kept.bytes);
    this.options.onProgress?.({ type: 'manifest', digest: written, mediaType: kept.mediaType, instance: asInstance });
    return { digest: written, mediaType: kept.mediaType, size: kept.bytes.length, instances: [] };
  }

  /**
   * The manifest family to convert to when the destination cannot store this
   * media type (skopeo converts Docker schema2 to OCI for oci: layouts), or
   * undefined to keep the source's bytes and digest.
   */
  private targetFamily(mediaType: string): ManifestFamily | undefined {
    const accepted = this.destination.capabilities.manifestMediaTypes;
    const family = familyOf(mediaType);
    const asked = this.options.manifestFormat;
    if (asked !== undefined && family !== undefined && family !== asked) {
      if (accepted && !accepted.some((t) => familyOf(t) === asked)) throw new BerthError('UNSUPPORTED', `${this.destination.reference.toString()} cannot store ${asked === 'docker' ? 'Docker' : 'OCI'} manifests`);
      if (this.options.preserveDigests) throw new BerthError('UNSUPPORTED', `converting ${mediaType} to ${asked === 'docker' ? 'Docker' : 'OCI'} changes its digest, which --preserve-digests forbids`);
      return asked;
    }
    if (!accepted || accepted.includes(mediaType)) return undefined;
    const other: ManifestFamily = family === 'oci' ? 'docker' : 'oci';
    if (family === undefined || !accepted.some((t) => familyOf(t) === other)) {
      throw new BerthError('UNSUPPORTED', `${this.destination.reference.toString()} cannot store ${mediaType} manifests`);
    }
    if (this.options.preserveDigests) {
      throw new BerthError('UNSUPPORTED', `${this.destination.reference.toString()} needs ${mediaType} converted, which changes its digest and --preserve-digests forbids`);
    }
    return other;
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
    const retries = this.options.blobRetries ?? 0;
    let bytes: number;
    for (let attempt = 0; ; attempt++) {
      try {
        bytes = await this.transferBlob(descriptor);
        break;
      } catch (err) {
        if (!isBerthError(err, 'NETWORK_ERROR') || attempt >= retries) throw err;
        progress?.({ type: 'blob-retry', descriptor, reason: err.message });
      }
    }
    this.counters.blobsCopied++;
    this.counters.bytesCopied += bytes;
    progress?.({ type: 'blob-done', descriptor, bytes });
  }

  /** One attempt: a fresh source stream, verified while it goes to the destination. Resolves to the bytes moved. */
  private async transferBlob(descriptor: Descriptor): Promise<number> {
    const progress = this.options.onProgress;
    const verified = verifiedStream(await this.source.getBlob(descriptor), descriptor);
    const timer = progress ? setInterval(() => progress({ type: 'blob-progress', descriptor, bytes: verified.bytes }), PROGRESS_INTERVAL_MS) : undefined;
    try {
      await this.destination.putBlob(descriptor, verified);
    } catch (err) {
      verified.destroy();
      throw err;
    } finally {
      clearInterval(timer);
    }
    // 'end' comes only after the digest checked out (DigestingStream's flush); 'finish' of the writable side may
    // still be a tick away when a fast destination has already answered.
    if (!verified.readableEnded) throw new BerthError('INTERNAL', `destination stored ${descriptor.digest} before reading all of it`);
    return verified.bytes;
  }
}

/** The bytes of one blob on their way: digest and size checked, the buffers that carried them given back as it goes. */
class CopiedBlobStream extends DigestingStream {
  override _transform(chunk: Buffer, encoding: BufferEncoding, done: TransformCallback): void {
    releaseStreamedBuffers(chunk.length);
    super._transform(chunk, encoding, done);
  }
}

/**
 * Wrap a source stream so that it fails, at the latest at its end, unless the
 * bytes match the descriptor. Destinations verify again before renaming; this
 * check is what guarantees it whatever the destination does.
 */
function verifiedStream(raw: Readable, descriptor: Descriptor): DigestingStream {
  const verifier = new CopiedBlobStream({ digest: descriptor.digest, size: descriptor.size });
  pipeline(raw, verifier, () => undefined);
  return verifier;
}

function uniqueByDigest(descriptors: Descriptor[]): Descriptor[] {
  const seen = new Set<string>();
  return descriptors.filter((d) => !seen.has(d.digest) && seen.add(d.digest));
}
