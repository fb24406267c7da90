import { BerthError } from '../../errors/BerthError.js';
import type { Descriptor } from '../../oci/descriptor.js';
import { MediaType } from '../../oci/mediaTypes.js';
import type { ManifestBlob } from '../types.js';

/** One entry of a docker save archive's manifest.json. */
export interface DockerArchiveItem {
  Config: string;
  RepoTags: string[];
  Layers: string[];
}

/** Validate the untrusted manifest.json of a docker save archive. */
export function parseDockerArchiveManifest(bytes: Buffer, where: string): DockerArchiveItem[] {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new BerthError('ARCHIVE_INVALID', `${where}: manifest.json is not valid JSON`);
  }
  if (!Array.isArray(doc)) throw new BerthError('ARCHIVE_INVALID', `${where}: manifest.json must be a list of images`);
  return doc.map((raw, i) => {
    const item = raw as Record<string, unknown>;
    const bad = (why: string): BerthError => new BerthError('ARCHIVE_INVALID', `${where}: manifest.json image ${i}: ${why}`);
    if (!item || typeof item !== 'object') throw bad('not an object');
    if (typeof item.Config !== 'string' || item.Config === '') throw bad('Config must name a file');
    if (!Array.isArray(item.Layers) || !item.Layers.every((l) => typeof l === 'string' && l !== '')) throw bad('Layers must be a list of file names');
    const tags = item.RepoTags ?? [];
    if (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string')) throw bad('RepoTags must be a list of strings');
    return { Config: item.Config, RepoTags: tags as string[], Layers: item.Layers as string[] };
  });
}

/**
 * The manifest a docker save archive is read back with (the format keeps none): Docker schema2 naming the config
 * member and each layer member as stored. The reader describes what it finds this way, and the writer reports it.
 */
export function archiveManifest(config: Descriptor, layers: Descriptor[]): ManifestBlob {
  return { bytes: Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.dockerManifest, config, layers })), mediaType: MediaType.dockerManifest };
}
