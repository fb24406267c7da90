import { readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { BerthError } from '../../errors/BerthError.js';
import type { Descriptor } from '../../oci/descriptor.js';
import { DigestingStream, digestHex, type Digest } from '../../oci/digest.js';
import { parseManifest, type ImageManifest } from '../../oci/manifest.js';
import { layerInfo, MediaType } from '../../oci/mediaTypes.js';
import { familiarDockerReference, parseDockerReference } from '../../reference/dockerReference.js';
import { writeFileAtomic } from '../files/atomicWrite.js';
import { checkArchiveTarget, packArchive, type PackEntry } from '../files/packDirectory.js';
import { storeVerifiedBlob, writeThrough } from '../files/streamToFile.js';
import { makeWorkspace, removeWorkspace } from '../files/tempWorkspace.js';
import type { DestinationCapabilities, ImageDestination, ImageReference, ManifestBlob } from '../types.js';
import { archiveManifest, type DockerArchiveItem } from './dockerArchiveManifest.js';

/**
 * Writes a docker save archive that `docker load` and skopeo read: the config
 * as `<hex>.json`, each layer decompressed to `<diff_id hex>.tar`, and
 * manifest.json with RepoTags. The registry manifest itself is not stored
 * (the format has no place for it), so OCI manifest digests do not survive.
 */
export class DockerArchiveDestination implements ImageDestination {
  readonly capabilities: DestinationCapabilities = { index: false, manifestMediaTypes: [MediaType.dockerManifest, MediaType.ociManifest], keepsManifests: false };
  /** Blob digest → the archive member holding it (layers: the uncompressed tar, named by diff_id). */
  private readonly members = new Map<Digest, { name: string; path: string; diffId?: Digest; size: number }>();
  private manifest: ImageManifest | undefined;
  private counter = 0;

  private constructor(
    readonly reference: ImageReference,
    private readonly file: string,
    private readonly repoTag: string | undefined,
    private readonly workspace: string,
  ) {}

  static async open(reference: ImageReference, file: string, named: string | undefined): Promise<DockerArchiveDestination> {
    const repoTag = named === undefined ? undefined : familiarDockerReference(parseDockerReference(named));
    await checkArchiveTarget(file);
    return new DockerArchiveDestination(reference, file, repoTag, await makeWorkspace('docker-archive'));
  }

  async tryReuseBlob(descriptor: Descriptor): Promise<boolean> {
    return this.members.has(descriptor.digest);
  }

  async putBlob(descriptor: Descriptor, content: Readable): Promise<void> {
    const info = layerInfo(descriptor.mediaType);
    if (!info) {
      const name = `${digestHex(descriptor.digest)}.json`;
      await storeVerifiedBlob(join(this.workspace, name), descriptor, content, false);
      this.members.set(descriptor.digest, { name, path: join(this.workspace, name), size: descriptor.size });
      return;
    }
    if (info.compression === 'zstd') {
      content.destroy();
      throw new BerthError('UNSUPPORTED', `docker-archive: cannot store zstd layer ${descriptor.digest} (docker load reads only tar and gzip)`);
    }
    // docker save stores plain tars named by their diff_id; decompress while verifying the blob as received.
    const verifier = new DigestingStream({ digest: descriptor.digest, size: descriptor.size });
    const diff = new DigestingStream();
    const partial = join(this.workspace, `layer-${++this.counter}.partial`);
    const stages = info.compression === 'gzip' ? [verifier, createGunzip(), diff] : [verifier, diff];
    try {
      await writeThrough(content, stages, partial, false);
    } catch (err) {
      if (err instanceof BerthError) throw err;
      throw new BerthError('LAYER_INVALID', `layer ${descriptor.digest} could not be decompressed: ${(err as Error).message}`);
    }
    const diffId = diff.digest();
    const name = `${digestHex(diffId)}.tar`;
    await rename(partial, join(this.workspace, name));
    this.members.set(descriptor.digest, { name, path: join(this.workspace, name), diffId, size: diff.bytes });
  }

  async putManifest(manifest: ManifestBlob, instanceDigest?: Digest): Promise<ManifestBlob> {
    if (instanceDigest !== undefined) throw new BerthError('UNSUPPORTED', 'docker-archive: holds single images, not indexes');
    const parsed = parseManifest(manifest.bytes, manifest.mediaType);
    if (parsed.kind !== 'manifest') throw new BerthError('UNSUPPORTED', 'docker-archive: holds single images, not indexes');
    this.manifest = parsed.manifest;
    const config = this.member(parsed.manifest.config.digest);
    return archiveManifest(
      { mediaType: MediaType.dockerConfig, digest: parsed.manifest.config.digest, size: config.size },
      parsed.manifest.layers.map((l) => {
        const layer = this.member(l.digest);
        return { mediaType: MediaType.dockerLayer, digest: layer.diffId as Digest, size: layer.size };
      }),
    );
  }

  async commit(): Promise<void> {
    const manifest = this.manifest;
    if (!manifest) throw new BerthError('INTERNAL', `commit to ${this.reference.toString()} before its manifest was written`);
    const config = this.member(manifest.config.digest);
    const layers = manifest.layers.map((l) => this.member(l.digest));
    await checkConfigMatches(config.path, layers.map((l) => l.diffId as Digest));
    const item: DockerArchiveItem = { Config: config.name, RepoTags: this.repoTag ? [this.repoTag] : [], Layers: layers.map((l) => l.name) };
    const manifestPath = join(this.workspace, 'manifest.json');
    await writeFileAtomic(manifestPath, JSON.stringify([item]), false);
    const entries: PackEntry[] = [{ name: config.name, source: config.path }];
    const seen = new Set<string>();
    for (const layer of layers) {
      if (seen.has(layer.name)) continue;
      seen.add(layer.name);
      entries.push({ name: layer.name, source: layer.path });
    }
    entries.push({ name: 'manifest.json', source: manifestPath });
    await packArchive(this.file, entries);
  }

  async close(): Promise<void> {
    await removeWorkspace(this.workspace);
  }

  private member(digest: Digest): { name: string; path: string; diffId?: Digest; size: number } {
    const found = this.members.get(digest);
    if (!found) throw new BerthError('BLOB_UNKNOWN', `docker-archive: blob ${digest} was not written (non-distributable layers cannot be stored in an archive without their content)`);
    return found;
  }
}

/** docker load rejects an image whose layers do not hash to the config's diff_ids: refuse to write one. */
async function checkConfigMatches(configPath: string, diffIds: Digest[]): Promise<void> {
  let listed: unknown;
  try {
    listed = (JSON.parse(await readFile(configPath, 'utf8')) as { rootfs?: { diff_ids?: unknown } }).rootfs?.diff_ids;
  } catch {
    throw new BerthError('CONFIG_INVALID', 'docker-archive: the image config is not valid JSON');
  }
  if (!Array.isArray(listed) || listed.length !== diffIds.length || listed.some((d, i) => d !== diffIds[i])) {
    throw new BerthError('CONFIG_INVALID', "docker-archive: the image config's rootfs.diff_ids do not match its layers' uncompressed digests");
  }
}
