import type { Readable } from 'node:stream';
import { BerthError } from '../errors/BerthError.js';
import { parseImageConfig, type ImageConfig } from '../oci/config.js';
import type { Descriptor } from '../oci/descriptor.js';
import { DigestingStream, type Digest } from '../oci/digest.js';
import { parseManifest, type ParsedManifest } from '../oci/manifest.js';
import { formatPlatform, hostPlatform, platformMatches, type Platform } from '../oci/platform.js';
import type { ImageReference, ImageSource, TransportOptions } from '../transports/types.js';

/** skopeo inspect's JSON, field for field. */
export interface InspectOutput {
  Name?: string;
  Digest: Digest;
  RepoTags: string[];
  Created?: string;
  DockerVersion: string;
  Labels: Record<string, string> | null;
  Architecture: string;
  Variant?: string;
  Os: string;
  Layers: string[];
  LayersData: Array<{ MIMEType: string; Digest: string; Size: number; Annotations: Record<string, string> | null }>;
  Env: string[] | null;
}

export interface InspectOptions {
  transportOptions?: TransportOptions;
  /** Which instance of an index to describe; the host's by default. */
  platform?: Platform;
  /** Tag lister for RepoTags (docker:// only); omitted with --no-tags. */
  listTags?: () => Promise<string[]>;
}

const MAX_CONFIG_BYTES = 8 * 1024 * 1024;

/** The raw top-level manifest bytes (`inspect --raw`). */
export async function rawManifest(reference: ImageReference, options: InspectOptions = {}): Promise<Buffer> {
  const source = await reference.newSource(options.transportOptions);
  try {
    const blob = await source.getManifest();
    parseManifest(blob.bytes, blob.mediaType);
    return blob.bytes;
  } finally {
    await source.close();
  }
}

/** The image config bytes, verified against the manifest (`inspect --config --raw`). */
export async function rawConfig(reference: ImageReference, options: InspectOptions = {}): Promise<Buffer> {
  const source = await reference.newSource(options.transportOptions);
  try {
    const { image } = await resolveImage(source, options.platform);
    return await readBlob(source, image.manifest.config);
  } finally {
    await source.close();
  }
}

export async function inspectImage(reference: ImageReference, options: InspectOptions = {}): Promise<{ output: InspectOutput; config: ImageConfig }> {
  const source = await reference.newSource(options.transportOptions);
  try {
    const { top, image } = await resolveImage(source, options.platform);
    const config = parseImageConfig(await readBlob(source, image.manifest.config));
    const repoTags = options.listTags ? await options.listTags() : [];
    const output: InspectOutput = {
      ...(reference.dockerReference ? { Name: repositoryOf(reference.dockerReference) } : {}),
      Digest: top.digest,
      RepoTags: repoTags,
      ...(config.created ? { Created: config.created } : {}),
      DockerVersion: typeof config.docker_version === 'string' ? config.docker_version : '',
      Labels: config.config?.Labels ?? null,
      Architecture: config.architecture,
      ...(config.variant ? { Variant: config.variant } : {}),
      Os: config.os,
      Layers: image.manifest.layers.map((l) => l.digest),
      LayersData: image.manifest.layers.map((l) => ({ MIMEType: l.mediaType, Digest: l.digest, Size: l.size, Annotations: l.annotations ?? null })),
      Env: config.config?.Env ?? null,
    };
    return { output, config };
  } finally {
    await source.close();
  }
}

function repositoryOf(dockerReference: string): string {
  const at = dockerReference.indexOf('@');
  const name = at < 0 ? dockerReference : dockerReference.slice(0, at);
  const colon = name.lastIndexOf(':');
  return colon > name.lastIndexOf('/') ? name.slice(0, colon) : name;
}

async function resolveImage(source: ImageSource, platform: Platform | undefined): Promise<{ top: ParsedManifest; image: Extract<ParsedManifest, { kind: 'manifest' }> }> {
  const blob = await source.getManifest();
  const top = parseManifest(blob.bytes, blob.mediaType);
  if (top.kind === 'manifest') return { top, image: top };
  const wanted = platform ?? hostPlatform();
  const match = top.index.manifests.find((m) => platformMatches(wanted, m.platform));
  if (!match) {
    const available = top.index.manifests.map((m) => (m.platform ? formatPlatform(m.platform) : 'unknown')).join(', ');
    throw new BerthError('PLATFORM_NOT_FOUND', `no image for platform ${formatPlatform(wanted)} in ${source.reference.toString()} (available: ${available || 'none'})`);
  }
  const instanceBlob = await source.getManifest(match.digest);
  const instance = parseManifest(instanceBlob.bytes, instanceBlob.mediaType);
  if (instance.digest !== match.digest) throw new BerthError('DIGEST_MISMATCH', `manifest ${match.digest} has digest ${instance.digest}`);
  if (instance.kind !== 'manifest') throw new BerthError('UNSUPPORTED', 'nested indexes cannot be inspected');
  return { top, image: instance };
}

/** Read a small blob fully, verifying digest and size; configs are bounded. */
async function readBlob(source: ImageSource, descriptor: Descriptor): Promise<Buffer> {
  if (descriptor.size > MAX_CONFIG_BYTES) throw new BerthError('CONFIG_INVALID', `config ${descriptor.digest} is larger than ${MAX_CONFIG_BYTES} bytes`);
  const stream: Readable = await source.getBlob(descriptor);
  const verifier = new DigestingStream({ digest: descriptor.digest, size: descriptor.size });
  const chunks: Buffer[] = [];
  stream.on('error', (err) => verifier.destroy(err));
  stream.pipe(verifier);
  for await (const chunk of verifier as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}
