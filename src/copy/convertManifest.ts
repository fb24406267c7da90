import { BerthError } from '../errors/BerthError.js';
import type { Descriptor } from '../oci/descriptor.js';
import type { ImageIndex, ImageManifest } from '../oci/manifest.js';
import { MediaType } from '../oci/mediaTypes.js';

/** The two manifest families berth writes; conversion moves between them as skopeo does. */
export type ManifestFamily = 'oci' | 'docker';

const dockerToOci: Record<string, string> = {
  [MediaType.dockerManifest]: MediaType.ociManifest,
  [MediaType.dockerManifestList]: MediaType.ociIndex,
  [MediaType.dockerConfig]: MediaType.ociConfig,
  [MediaType.dockerLayerGzip]: MediaType.ociLayerGzip,
  [MediaType.dockerLayer]: MediaType.ociLayer,
  [MediaType.dockerLayerForeignGzip]: MediaType.ociLayerNondistributableGzip,
};
const ociToDocker: Record<string, string> = Object.fromEntries(Object.entries(dockerToOci).map(([docker, oci]) => [oci, docker]));

export function familyOf(mediaType: string): ManifestFamily | undefined {
  if (mediaType === MediaType.dockerManifest || mediaType === MediaType.dockerManifestList) return 'docker';
  if (mediaType === MediaType.ociManifest || mediaType === MediaType.ociIndex) return 'oci';
  return undefined;
}

/**
 * The media type `mediaType` becomes in `family`: types of that family and
 * foreign ones (artifacts) stay; the other family's map across; undefined when
 * there is no equivalent (zstd layers have none in Docker schema2).
 */
function equivalentMediaType(mediaType: string, family: ManifestFamily): string | undefined {
  const own = family === 'oci' ? 'application/vnd.oci.' : 'application/vnd.docker.';
  const other = family === 'oci' ? 'application/vnd.docker.' : 'application/vnd.oci.';
  if (mediaType.startsWith(own) || !mediaType.startsWith(other)) return mediaType;
  return (family === 'oci' ? dockerToOci : ociToDocker)[mediaType];
}

function convertDescriptor(d: Descriptor, family: ManifestFamily, what: string): Descriptor {
  const mediaType = equivalentMediaType(d.mediaType, family);
  if (!mediaType) throw new BerthError('UNSUPPORTED', `cannot convert ${what} of type ${d.mediaType} to a ${family === 'oci' ? 'OCI' : 'Docker schema2'} manifest`);
  return { ...d, mediaType };
}

/**
 * Rewrite an image manifest in the other family. Blobs are unchanged (same
 * digests); only descriptors' media types change, so the result names exactly
 * the blobs the source did. Fields the Docker format lacks (annotations,
 * subject, artifactType) are refused rather than silently dropped.
 */
export function convertImageManifest(manifest: ImageManifest, family: ManifestFamily): Buffer {
  if (family === 'docker' && (manifest.annotations || manifest.subject || manifest.artifactType)) {
    throw new BerthError('UNSUPPORTED', 'the manifest has annotations, a subject or an artifactType, which Docker schema2 cannot carry');
  }
  const out: ImageManifest = {
    schemaVersion: 2,
    mediaType: family === 'oci' ? MediaType.ociManifest : MediaType.dockerManifest,
    config: convertDescriptor(manifest.config, family, 'config'),
    layers: manifest.layers.map((l, i) => convertDescriptor(l, family, `layer ${i}`)),
  };
  if (manifest.annotations) out.annotations = manifest.annotations;
  if (manifest.subject) out.subject = manifest.subject;
  if (manifest.artifactType) out.artifactType = manifest.artifactType;
  return Buffer.from(JSON.stringify(out));
}

/** Write an index of the given family listing `manifests` (already the descriptors of what was written). */
export function buildIndex(original: ImageIndex, family: ManifestFamily, manifests: Descriptor[]): Buffer {
  const out: ImageIndex = {
    schemaVersion: 2,
    mediaType: family === 'oci' ? MediaType.ociIndex : MediaType.dockerManifestList,
    manifests,
  };
  if (original.annotations) {
    if (family === 'docker') throw new BerthError('UNSUPPORTED', 'the index has annotations, which a Docker manifest list cannot carry');
    out.annotations = original.annotations;
  }
  if (original.subject) out.subject = original.subject;
  if (original.artifactType) out.artifactType = original.artifactType;
  return Buffer.from(JSON.stringify(out));
}
