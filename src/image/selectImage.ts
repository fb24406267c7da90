import { BerthError } from '../errors/BerthError.js';
import { parseImageConfig, type ImageConfig } from '../oci/config.js';
import type { Digest } from '../oci/digest.js';
import { parseManifest, type ImageManifest } from '../oci/manifest.js';
import { formatPlatform, platformMatches, type Platform } from '../oci/platform.js';
import type { ImageSource } from '../transports/types.js';
import { readBlobBytes } from './readBlobBytes.js';

/**
 * The image manifest a consumer of one image (unpack, run, a builder's base)
 * uses: the top-level one, or the instance of an index matching the platform
 * (an index with a single entry that names no platform counts as a match).
 */
export async function selectImageManifest(source: ImageSource, platform: Platform): Promise<{ manifest: ImageManifest; digest: Digest }> {
  const top = await source.getManifest();
  const parsed = parseManifest(top.bytes, top.mediaType);
  if (parsed.kind === 'manifest') return { manifest: parsed.manifest, digest: parsed.digest };
  const candidates = parsed.index.manifests.filter((m) => m.platform === undefined || platformMatches(platform, m.platform));
  const chosen = candidates.find((m) => m.platform !== undefined) ?? (parsed.index.manifests.length === 1 ? candidates[0] : undefined);
  if (!chosen) {
    const have = parsed.index.manifests.map((m) => (m.platform ? formatPlatform(m.platform) : 'unknown')).join(', ');
    throw new BerthError('PLATFORM_NOT_FOUND', `no image for ${formatPlatform(platform)} in ${source.reference.toString()} (it has: ${have || 'nothing'})`);
  }
  const instance = await source.getManifest(chosen.digest);
  const inner = parseManifest(instance.bytes, instance.mediaType);
  if (inner.digest !== chosen.digest) throw new BerthError('DIGEST_MISMATCH', `manifest ${chosen.digest} has digest ${inner.digest}`);
  if (inner.kind !== 'manifest') throw new BerthError('UNSUPPORTED', 'nested indexes are not supported here');
  return { manifest: inner.manifest, digest: inner.digest };
}

/** The image config a manifest names, verified and validated. */
export async function readImageConfig(source: ImageSource, manifest: ImageManifest): Promise<ImageConfig> {
  return parseImageConfig(await readBlobBytes(source, manifest.config));
}

/** The platform an image's config declares. */
export function configPlatform(config: ImageConfig): Platform {
  return { os: config.os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}) };
}

/**
 * A single-platform image asked for as another platform is refused, not relabelled: building on an amd64 base
 * "for arm64" would give an image whose config says one thing and whose binaries are another.
 */
export function requireImagePlatform(config: ImageConfig, wanted: Platform, image: string): void {
  const has = configPlatform(config);
  if (!platformMatches(wanted, has)) throw new BerthError('PLATFORM_NOT_FOUND', `${image} is an image for ${formatPlatform(has)}, not ${formatPlatform(wanted)}`);
}
