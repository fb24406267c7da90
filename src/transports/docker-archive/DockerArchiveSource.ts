import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BerthError } from '../../errors/BerthError.js';
import type { Descriptor } from '../../oci/descriptor.js';
import { DigestingStream, digestOf, type Digest } from '../../oci/digest.js';
import { MAX_MANIFEST_BYTES } from '../../oci/manifest.js';
import { MediaType } from '../../oci/mediaTypes.js';
import { formatDockerReference, parseDockerReferenceWithDefaultTag } from '../../reference/dockerReference.js';
import { openArchive, type OpenedArchive } from '../files/openArchive.js';
import type { TarIndex, TarMember } from '../files/tarIndex.js';
import type { ImageReference, ImageSource, ManifestBlob } from '../types.js';
import { archiveManifest, parseDockerArchiveManifest, type DockerArchiveItem } from './dockerArchiveManifest.js';

const MAX_CONFIG_BYTES = 16 * 1024 * 1024;

/**
 * Reads one image of a docker save archive (legacy `<id>/layer.tar` or
 * OCI-style `blobs/sha256/...` members). The archive has no registry
 * manifest, so one is synthesised: Docker schema2, config and layers as the
 * archive stores them, digests and sizes computed by reading the files.
 */
export class DockerArchiveSource implements ImageSource {
  private constructor(
    readonly reference: ImageReference,
    private readonly archive: OpenedArchive,
    private readonly manifest: Buffer,
    private readonly blobs: Map<Digest, TarMember>,
    /** The RepoTag the chosen image carries (normalised), if any. */
    readonly dockerReference: string | undefined,
  ) {}

  static async open(reference: ImageReference, file: string, select: { named?: string | undefined; index?: number | undefined }): Promise<DockerArchiveSource> {
    const archive = await openArchive(file, file);
    try {
      const tar = archive.index;
      const manifestMember = tar.get('manifest.json');
      if (!manifestMember) throw new BerthError('ARCHIVE_INVALID', `${file} is not a docker archive (no manifest.json)`);
      const items = parseDockerArchiveManifest(await tar.read(manifestMember, MAX_MANIFEST_BYTES, `${file} manifest.json`), file);
      const { item, tag } = chooseImage(items, select, reference.toString());
      const member = (name: string): TarMember => {
        const found = tar.get(name.replace(/^\.\//, ''));
        if (!found) throw new BerthError('ARCHIVE_INVALID', `${file}: manifest.json names "${name}", which the archive does not hold`);
        return found;
      };
      const blobs = new Map<Digest, TarMember>();
      const configMember = member(item.Config);
      const configBytes = await tar.read(configMember, MAX_CONFIG_BYTES, `${file} config`);
      const config: Descriptor = { mediaType: MediaType.dockerConfig, digest: digestOf(configBytes), size: configBytes.length };
      blobs.set(config.digest, configMember);
      const layers: Descriptor[] = [];
      for (const name of item.Layers) {
        const layerMember = member(name);
        const layer = await describeLayer(tar, layerMember, name);
        blobs.set(layer.digest, layerMember);
        layers.push(layer);
      }
      checkDiffIds(configBytes, layers.length, file);
      const manifest = archiveManifest(config, layers).bytes;
      return new DockerArchiveSource(reference, archive, manifest, blobs, tag);
    } catch (err) {
      await archive.close();
      throw err;
    }
  }

  async getManifest(instanceDigest?: Digest): Promise<ManifestBlob> {
    if (instanceDigest !== undefined && instanceDigest !== digestOf(this.manifest)) {
      throw new BerthError('MANIFEST_UNKNOWN', `${this.reference.toString()} holds a single image, not ${instanceDigest}`);
    }
    return { bytes: this.manifest, mediaType: MediaType.dockerManifest };
  }

  async getBlob(descriptor: Descriptor): Promise<Readable> {
    const member = this.blobs.get(descriptor.digest);
    if (!member) throw new BerthError('BLOB_UNKNOWN', `blob ${descriptor.digest} is not part of ${this.reference.toString()}`);
    return this.archive.index.open(member);
  }

  async close(): Promise<void> {
    await this.archive.close();
  }
}

function chooseImage(items: DockerArchiveItem[], select: { named?: string | undefined; index?: number | undefined }, where: string): { item: DockerArchiveItem; tag: string | undefined } {
  if (select.named !== undefined) {
    for (const item of items) {
      for (const repoTag of item.RepoTags) {
        if (normalised(repoTag) === select.named) return { item, tag: select.named };
      }
    }
    throw new BerthError('TAG_UNKNOWN', `no image tagged ${select.named} in ${where}`);
  }
  if (select.index !== undefined) {
    const item = items[select.index];
    if (!item) throw new BerthError('NOT_FOUND', `${where} holds ${items.length} image(s); there is no image @${select.index}`);
    return { item, tag: firstTag(item) };
  }
  if (items.length !== 1) {
    throw new BerthError('USAGE', `${where} holds ${items.length} images: choose one with :NAME:TAG or :@N`);
  }
  const item = items[0] as DockerArchiveItem;
  return { item, tag: firstTag(item) };
}

function firstTag(item: DockerArchiveItem): string | undefined {
  for (const tag of item.RepoTags) {
    const n = normalised(tag);
    if (n !== undefined) return n;
  }
  return undefined;
}

function normalised(repoTag: string): string | undefined {
  try {
    return formatDockerReference(parseDockerReferenceWithDefaultTag(repoTag));
  } catch {
    return undefined;
  }
}

/** Digest and size by reading the member; media type from its first bytes (docker save stores plain tars; gzip is accepted). */
async function describeLayer(tar: TarIndex, member: TarMember, name: string): Promise<Descriptor> {
  const magic = await tar.read({ offset: member.offset, size: Math.min(4, member.size) }, 4, name);
  let mediaType: string = MediaType.dockerLayer;
  if (magic[0] === 0x1f && magic[1] === 0x8b) mediaType = MediaType.dockerLayerGzip;
  else if (magic.length === 4 && magic.readUInt32LE(0) === 0xfd2fb528) throw new BerthError('UNSUPPORTED', `layer ${name} is zstd-compressed, which docker-archive: does not support`);
  const hasher = new DigestingStream();
  await pipeline(await tar.open(member), hasher, async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) void chunk;
  });
  return { mediaType, digest: hasher.digest(), size: hasher.bytes };
}

/** The config must list one diff_id per layer, or docker load and the copy would disagree about the image. */
function checkDiffIds(configBytes: Buffer, layerCount: number, where: string): void {
  let diffIds: unknown;
  try {
    diffIds = (JSON.parse(configBytes.toString('utf8')) as { rootfs?: { diff_ids?: unknown } }).rootfs?.diff_ids;
  } catch {
    throw new BerthError('ARCHIVE_INVALID', `${where}: the image config is not valid JSON`);
  }
  if (!Array.isArray(diffIds) || diffIds.length !== layerCount) {
    throw new BerthError('ARCHIVE_INVALID', `${where}: the image config lists ${Array.isArray(diffIds) ? diffIds.length : 'no'} layer diff_ids but manifest.json names ${layerCount} layers`);
  }
}
