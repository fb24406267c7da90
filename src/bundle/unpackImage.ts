import { mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { BerthError, toBerthError } from '../errors/BerthError.js';
import type { KeptPaths } from '../layer/keptPaths.js';
import { LayerApplier, applierSink, applyDirectoryModes, type DirectoryModes } from '../layer/applyLayer.js';
import { decompressStream } from '../layer/compression.js';
import { LayerDecoder } from '../layer/layerDecoder.js';
import { RootResolver } from '../layer/rootResolver.js';
import { readImageConfig, selectImageManifest } from '../image/selectImage.js';
import type { Descriptor } from '../oci/descriptor.js';
import { DigestingStream, type Digest } from '../oci/digest.js';
import { isLayerMediaType } from '../oci/mediaTypes.js';
import { hostPlatform, type Platform } from '../oci/platform.js';
import type { ImageSource } from '../transports/types.js';
import { idMapper } from './idMap.js';
import { imageToRuntimeSpec } from './imageToSpec.js';
import { applyUserNamespace, type IdMapping, type RuntimeSpec } from './runtimeSpec.js';

export interface UnpackOptions {
  /** Which image of an index to unpack (default: the host's platform). */
  platform?: Platform;
  /** Container → host id mappings: files are owned by the mapped host ids and config.json gets a user namespace. */
  uidMappings?: IdMapping[];
  gidMappings?: IdMapping[];
  /** Unprivileged unpack: map container root to the calling user, skip chown (as `umoci unpack --rootless`). */
  rootless?: boolean;
  /** Create device nodes from layers (root only). */
  devices?: boolean;
  onWarning?: (message: string) => void;
  onLayer?: (index: number, count: number, descriptor: Descriptor) => void;
  /** Layers of at least this many bytes are verified and inflated on a worker thread (default 1 MiB). */
  offThreadMinBytes?: number;
  /** A decode worker already started (prestart) by the caller, who closes it; by default unpack starts and closes its own. */
  decoder?: LayerDecoder;
}

export interface UnpackResult {
  bundleDir: string;
  manifestDigest: Digest;
  configDigest: Digest;
  layers: number;
  spec: RuntimeSpec;
  warnings: string[];
}

/** Layers at least this big are verified and inflated on a worker thread, in parallel with writing. */
const OFF_THREAD_MIN_BYTES = 1024 * 1024;


/**
 * Unpack an image into an OCI runtime bundle: `rootfs/` from the layers in
 * order (each blob verified against its descriptor while streaming and its
 * uncompressed digest checked against the config's diff_id) and `config.json`
 * written last, through a temp file and rename. On any failure what was
 * created is removed, so a bundle with a config.json is always complete.
 */
export async function unpackImage(source: ImageSource, bundleDir: string, options: UnpackOptions = {}): Promise<UnpackResult> {
  const bundle = resolve(bundleDir);
  const createdBundle = prepareBundleDir(bundle);
  const rootfs = join(bundle, 'rootfs');
  const warnings: string[] = [];
  const warn = (message: string): void => {
    warnings.push(message);
    options.onWarning?.(message);
  };
  const decoder = options.decoder ?? new LayerDecoder();
  const closeDecoder = async (): Promise<void> => {
    if (!options.decoder) await decoder.close();
  };
  try {
    mkdirSync(rootfs, { mode: 0o755 });
    decoder.prestart();
    const { manifest, digest, config } = await imageLayers(source, options.platform ?? hostPlatform());
    const diffIds = config.rootfs.diff_ids;
    const uidMappings = options.uidMappings ?? [];
    const gidMappings = options.gidMappings ?? [];
    const rootless = options.rootless ?? false;
    const effectiveUid = uidMappings.length > 0 ? uidMappings : rootless ? [{ containerID: 0, hostID: process.getuid?.() ?? 0, size: 1 }] : [];
    const effectiveGid = gidMappings.length > 0 ? gidMappings : rootless ? [{ containerID: 0, hostID: process.getgid?.() ?? 0, size: 1 }] : [];
    // Without root, a directory an early layer makes read-only would stop later layers writing into it.
    const directoryModes: DirectoryModes | undefined = process.getuid?.() === 0 ? undefined : new Map();
    try {
      for (const [i, layer] of manifest.layers.entries()) {
        options.onLayer?.(i, manifest.layers.length, layer);
        const useDecoder = layer.size >= (options.offThreadMinBytes ?? OFF_THREAD_MIN_BYTES) ? decoder : undefined;
        await applyLayerBlob(source, layer, diffIds[i]!, rootfs, useDecoder, {
          chown: !rootless && process.getuid?.() === 0,
          ...(uidMappings.length > 0 || gidMappings.length > 0 ? { idMap: idMapper(uidMappings, gidMappings) } : {}),
          devices: options.devices ?? false,
          onWarning: warn,
          ...(directoryModes ? { directoryModes } : {}),
        });
      }
      if (directoryModes) applyDirectoryModes(rootfs, directoryModes);
    } finally {
      await closeDecoder();
    }
    const { spec, warnings: specWarnings } = imageToRuntimeSpec(config, new RootResolver(rootfs), manifest.annotations ?? {});
    specWarnings.forEach(warn);
    if (effectiveUid.length > 0 || effectiveGid.length > 0) applyUserNamespace(spec, effectiveUid, effectiveGid);
    const tmp = join(bundle, `.config.json.${process.pid}.tmp`);
    writeFileSync(tmp, `${JSON.stringify(spec, null, '\t')}\n`, { mode: 0o644 });
    renameSync(tmp, join(bundle, 'config.json'));
    return { bundleDir: bundle, manifestDigest: digest, configDigest: manifest.config.digest, layers: manifest.layers.length, spec, warnings };
  } catch (err) {
    await closeDecoder();
    cleanup(bundle, createdBundle);
    throw toBerthError(err);
  }
}

/** The manifest and config of the image to unpack, checked to agree on the number of layers. */
async function imageLayers(source: ImageSource, platform: Platform) {
  const { manifest, digest } = await selectImageManifest(source, platform);
  const config = await readImageConfig(source, manifest);
  if (config.rootfs.diff_ids.length !== manifest.layers.length) {
    throw new BerthError('MANIFEST_INVALID', `manifest has ${manifest.layers.length} layers but the config lists ${config.rootfs.diff_ids.length} diff_ids`);
  }
  return { manifest, digest, config };
}

/**
 * Apply an image's layers onto a root that is in use (a build working in its own container's root): each blob
 * verified as it streams, owners and devices as root sets them, the kept paths left alone.
 */
export async function applyImageLayers(source: ImageSource, rootDir: string, options: { platform: Platform; keep: KeptPaths; onWarning?: (message: string) => void }): Promise<Digest> {
  const { manifest, digest, config } = await imageLayers(source, options.platform);
  for (const [i, layer] of manifest.layers.entries()) {
    await applyLayerBlob(source, layer, config.rootfs.diff_ids[i]!, rootDir, undefined, {
      devices: true,
      keep: options.keep,
      ...(options.onWarning ? { onWarning: options.onWarning } : {}),
    });
  }
  return digest;
}

/** The bundle directory must be new or empty: unpacking over a previous bundle would mix two images. */
function prepareBundleDir(bundle: string): boolean {
  let exists = false;
  try {
    exists = statSync(bundle).isDirectory();
    if (!exists) throw new BerthError('ALREADY_EXISTS', `${bundle} exists and is not a directory`);
  } catch (err) {
    if (err instanceof BerthError) throw err;
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw toBerthError(err);
  }
  if (exists) {
    if (readdirSync(bundle).length > 0) throw new BerthError('ALREADY_EXISTS', `bundle directory ${bundle} is not empty`);
    return false;
  }
  mkdirSync(bundle, { recursive: true, mode: 0o700 });
  return true;
}

function cleanup(bundle: string, createdBundle: boolean): void {
  if (createdBundle) {
    rmSync(bundle, { recursive: true, force: true });
    return;
  }
  for (const name of readdirSync(bundle)) rmSync(join(bundle, name), { recursive: true, force: true });
}

async function applyLayerBlob(
  source: ImageSource,
  layer: Descriptor,
  diffId: Digest,
  rootfs: string,
  decoder: LayerDecoder | undefined,
  options: ConstructorParameters<typeof LayerApplier>[1],
): Promise<void> {
  if (!isLayerMediaType(layer.mediaType)) throw new BerthError('LAYER_INVALID', `layer ${layer.digest} has media type ${layer.mediaType}, which is not a layer`);
  const applier = new LayerApplier(rootfs, options);
  try {
    const expected = { digest: layer.digest, size: layer.size, diffId };
    const file = decoder ? await source.blobFile?.(layer) : undefined;
    if (decoder && file !== undefined) {
      await pipeline(decoder.decodeFile(file, expected), applierSink(applier));
    } else if (decoder) {
      await pipeline(await source.getBlob(layer), decoder.decode(expected), applierSink(applier));
    } else {
      const blob = await source.getBlob(layer);
      await pipeline(
        blob,
        new DigestingStream({ digest: layer.digest, size: layer.size }),
        decompressStream(),
        new DigestingStream({ digest: diffId }),
        applierSink(applier),
      );
    }
  } catch (err) {
    applier.abort();
    const error = toBerthError(err);
    if (error.code === 'DIGEST_MISMATCH' && error.message.includes(diffId)) {
      throw new BerthError('DIGEST_MISMATCH', `layer ${layer.digest}: uncompressed content does not match diff_id ${diffId}`, { cause: err });
    }
    throw error;
  }
}
