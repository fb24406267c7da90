import { Readable } from 'node:stream';
import { BerthError } from '../errors/BerthError.js';
import type { Descriptor } from '../oci/descriptor.js';
import type { NewLayer } from '../layer/newLayer.js';
import { digestOf, type Digest } from '../oci/digest.js';
import type { HistoryEntry, ImageConfig } from '../oci/config.js';
import type { ImageManifest } from '../oci/manifest.js';
import { MediaType } from '../oci/mediaTypes.js';
import { hostPlatform, type Platform } from '../oci/platform.js';
import type { ImageReference, ImageSource, ManifestBlob, Transport } from '../transports/types.js';
import { readImageConfig, selectImageManifest } from './selectImage.js';

export interface ImageMutation {
  layers?: NewLayer[];
  /** A pure change of the config (Env, Cmd, Labels, ...); applied after layers are appended. */
  config?: (config: ImageConfig) => ImageConfig;
  /** History of steps that made no layer (ENV, CMD, ...), appended after the layers' own entries. */
  emptyLayerHistory?: HistoryEntry[];
  annotations?: Record<string, string>;
  /** When the base is an index: which instance to build on. */
  platform?: Platform;
  /** Pinned creation time (SOURCE_DATE_EPOCH-style reproducible builds). */
  created?: string;
}

/** Docker layer types map to their OCI equivalents, so the result is one consistent OCI manifest. */
const ociLayerType: Record<string, string> = {
  [MediaType.dockerLayerGzip]: MediaType.ociLayerGzip,
  [MediaType.dockerLayer]: MediaType.ociLayer,
  [MediaType.dockerLayerForeignGzip]: MediaType.ociLayerNondistributableGzip,
};

/**
 * go-containerregistry's `mutate`, as an ImageSource: a base image plus new
 * layers and config changes, described rather than written. Hand it to
 * `copyFromSource` and only the new blobs travel; the base's blobs come from the
 * base source (or are reused at the destination).
 */
export async function mutateImage(base: ImageSource | undefined, mutation: ImageMutation): Promise<ImageSource> {
  const baseImage = base ? await selectImageManifest(base, mutation.platform ?? hostPlatform()) : undefined;
  const baseConfig: ImageConfig = base && baseImage ? await readImageConfig(base, baseImage.manifest) : scratchConfig(mutation.platform ?? hostPlatform());

  const layers = mutation.layers ?? [];
  const created = mutation.created ?? new Date().toISOString();
  const withLayers: ImageConfig = {
    ...baseConfig,
    created,
    rootfs: { type: 'layers', diff_ids: [...baseConfig.rootfs.diff_ids, ...layers.map((l) => l.diffId)] },
    history: [
      ...(baseConfig.history ?? []),
      ...layers.map((l) => ({ created, ...l.history })),
      ...(mutation.emptyLayerHistory ?? []).map((h) => ({ created, ...h, empty_layer: true })),
    ],
  };
  const config = mutation.config ? mutation.config(withLayers) : withLayers;
  const configBytes = Buffer.from(JSON.stringify(config));
  const configDescriptor: Descriptor = { mediaType: MediaType.ociConfig, digest: digestOf(configBytes), size: configBytes.length };

  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: configDescriptor,
    layers: [
      ...(baseImage?.manifest.layers ?? []).map((l) => ({ ...l, mediaType: ociLayerType[l.mediaType] ?? l.mediaType })),
      ...layers.map((l) => l.descriptor),
    ],
  };
  if (mutation.annotations) manifest.annotations = mutation.annotations;
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  const newLayers = new Map(layers.map((l) => [l.descriptor.digest as string, l]));

  return {
    reference: builtReference(base?.reference, layers.length),
    async getManifest(instanceDigest?: Digest): Promise<ManifestBlob> {
      if (instanceDigest !== undefined && instanceDigest !== digestOf(manifestBytes)) {
        throw new BerthError('MANIFEST_UNKNOWN', `built image has no instance ${instanceDigest}`);
      }
      return { bytes: manifestBytes, mediaType: MediaType.ociManifest };
    },
    async getBlob(descriptor: Descriptor): Promise<Readable> {
      if (descriptor.digest === configDescriptor.digest) return Readable.from([configBytes]);
      const layer = newLayers.get(descriptor.digest);
      if (layer) return layer.open();
      if (!base) throw new BerthError('BLOB_UNKNOWN', `built image has no blob ${descriptor.digest}`);
      return base.getBlob(descriptor);
    },
    async close(): Promise<void> {},
  };
}

function scratchConfig(platform: Platform): ImageConfig {
  return {
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    config: {},
    rootfs: { type: 'layers', diff_ids: [] },
    history: [],
  };
}

const builtTransport: Transport = {
  name: 'built',
  parse(): ImageReference {
    throw new BerthError('UNSUPPORTED', 'built images are not addressable by name; copy them to a transport');
  },
};

function builtReference(base: ImageReference | undefined, layers: number): ImageReference {
  const text = `${base ? base.toString() : 'scratch'} + ${layers} layer(s)`;
  const refuse = async (): Promise<never> => {
    throw new BerthError('UNSUPPORTED', `${text} is an image being built, not a stored image`);
  };
  return { transport: builtTransport, within: text, toString: () => text, newSource: refuse, newDestination: refuse };
}
