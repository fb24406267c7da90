import { BerthError } from '../../errors/BerthError.js';

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
