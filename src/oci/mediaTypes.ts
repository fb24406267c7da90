/** Media types berth understands, OCI and Docker schema2. */
export const MediaType = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  ociLayerNondistributable: 'application/vnd.oci.image.layer.nondistributable.v1.tar',
  ociLayerNondistributableGzip: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  ociLayerNondistributableZstd: 'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
  ociLayoutHeader: 'application/vnd.oci.layout.header.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
  dockerLayerForeignGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  dockerManifestV1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
} as const;

export type Compression = 'none' | 'gzip' | 'zstd';

export const manifestMediaTypes: readonly string[] = [MediaType.ociManifest, MediaType.dockerManifest];
const indexMediaTypes: readonly string[] = [MediaType.ociIndex, MediaType.dockerManifestList];

export function isManifestMediaType(mediaType: string | undefined): boolean {
  return mediaType !== undefined && manifestMediaTypes.includes(mediaType);
}

export function isIndexMediaType(mediaType: string | undefined): boolean {
  return mediaType !== undefined && indexMediaTypes.includes(mediaType);
}

/** Layer media types, with their compression; foreign/non-distributable layers flagged. */
const layerTypes: Record<string, { compression: Compression; foreign: boolean }> = {
  [MediaType.ociLayer]: { compression: 'none', foreign: false },
  [MediaType.ociLayerGzip]: { compression: 'gzip', foreign: false },
  [MediaType.ociLayerZstd]: { compression: 'zstd', foreign: false },
  [MediaType.ociLayerNondistributable]: { compression: 'none', foreign: true },
  [MediaType.ociLayerNondistributableGzip]: { compression: 'gzip', foreign: true },
  [MediaType.ociLayerNondistributableZstd]: { compression: 'zstd', foreign: true },
  [MediaType.dockerLayerGzip]: { compression: 'gzip', foreign: false },
  [MediaType.dockerLayer]: { compression: 'none', foreign: false },
  [MediaType.dockerLayerForeignGzip]: { compression: 'gzip', foreign: true },
};

export function layerInfo(mediaType: string): { compression: Compression; foreign: boolean } | undefined {
  return layerTypes[mediaType];
}

export function isLayerMediaType(mediaType: string): boolean {
  return mediaType in layerTypes;
}
