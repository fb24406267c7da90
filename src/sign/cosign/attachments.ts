import { BerthError } from '../../errors/BerthError.js';
import type { Descriptor } from '../../oci/descriptor.js';
import { digestHex, digestOf, type Digest } from '../../oci/digest.js';
import { parseManifest, type ImageManifest } from '../../oci/manifest.js';
import { MediaType } from '../../oci/mediaTypes.js';
import { MAX_SIGNATURE_BLOB_BYTES, type ArtifactStore } from '../../transports/signatures.js';

const SIMPLE_SIGNING_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
const COSIGN_SIG_ARTIFACT_TYPE = 'application/vnd.dev.cosign.artifact.sig.v1+json';
const EMPTY_CONFIG = Buffer.from('{}');

export type StorageMode = 'legacy' | 'oci-1-1';

/** One stored signature, as found: payload bytes (digest-checked), the base64 signature, and where it came from. */
export interface CosignSignature {
  payload: Buffer;
  signature: string;
  layer: Descriptor;
  /** `tag sha256-….sig` or `referrer sha256:…`. */
  location: string;
  /** How it was stored, so a copy stores it the same way. */
  mode: StorageMode;
}

/** A signature layer that could not be used, with the reason (reported when nothing verifies). */
export interface RejectedLayer {
  location: string;
  reason: string;
}

/** cosign's legacy attachment tag for a manifest digest: `sha256-<hex>.sig`. */
function signatureTag(digest: Digest): string {
  return `${digest.slice(0, digest.indexOf(':'))}-${digestHex(digest)}.sig`;
}

/**
 * Read every cosign signature attached to `digest`: the legacy `.sig` tag and
 * OCI 1.1 referrers of the cosign signature artifact type. Malformed layers are
 * returned as rejections instead of aborting, so a garbage attachment cannot
 * hide a good signature, and the caller can explain what it refused.
 */
export async function readCosignSignatures(store: ArtifactStore, digest: Digest): Promise<{ signatures: CosignSignature[]; rejected: RejectedLayer[] }> {
  const signatures: CosignSignature[] = [];
  const rejected: RejectedLayer[] = [];
  const manifests: { manifest: ImageManifest; location: string; mode: StorageMode }[] = [];
  const tag = signatureTag(digest);
  // Both places are asked at once: a mirror job pays one round trip per image for the lookup, not two.
  const [byTag, listed] = await Promise.allSettled([store.getManifest(tag), store.listReferrers(digest, COSIGN_SIG_ARTIFACT_TYPE)]);
  try {
    if (byTag.status === 'rejected') throw byTag.reason;
    const stored = byTag.value;
    if (stored) {
      const parsed = parseManifest(stored.bytes, stored.mediaType);
      if (parsed.kind !== 'manifest') rejected.push({ location: `tag ${tag}`, reason: 'is an index, not a signature manifest' });
      else manifests.push({ manifest: parsed.manifest, location: `tag ${tag}`, mode: 'legacy' });
    }
  } catch (err) {
    rejected.push({ location: `tag ${tag}`, reason: (err as Error).message });
  }
  let referrers: Descriptor[] = [];
  if (listed.status === 'fulfilled') referrers = listed.value;
  else if (!(listed.reason instanceof BerthError && (listed.reason.code === 'NOT_FOUND' || listed.reason.code === 'UNSUPPORTED'))) {
    rejected.push({ location: 'referrers', reason: (listed.reason as Error).message });
  }
  for (const referrer of referrers) {
    const location = `referrer ${referrer.digest}`;
    try {
      const stored = await store.getManifest(referrer.digest);
      if (!stored) throw new Error('listed but missing');
      const parsed = parseManifest(stored.bytes, stored.mediaType);
      if (parsed.kind !== 'manifest') throw new Error('is an index');
      if (parsed.manifest.subject?.digest !== digest) throw new Error(`its subject is not ${digest}`);
      manifests.push({ manifest: parsed.manifest, location, mode: 'oci-1-1' });
    } catch (err) {
      rejected.push({ location, reason: (err as Error).message });
    }
  }
  for (const { manifest, location, mode } of manifests) {
    manifest.layers.forEach((layer, i) => {
      if (layer.mediaType !== SIMPLE_SIGNING_MEDIA_TYPE) rejected.push({ location: `${location} layer ${i}`, reason: `media type ${layer.mediaType} is not ${SIMPLE_SIGNING_MEDIA_TYPE}` });
    });
    for (const [i, layer] of manifest.layers.entries()) {
      if (layer.mediaType !== SIMPLE_SIGNING_MEDIA_TYPE) continue;
      const where = `${location} layer ${i}`;
      const signature = layer.annotations?.[SIGNATURE_ANNOTATION];
      if (signature === undefined || signature === '') {
        rejected.push({ location: where, reason: `no ${SIGNATURE_ANNOTATION} annotation` });
        continue;
      }
      try {
        const payload = await store.getSmallBlob(layer, MAX_SIGNATURE_BLOB_BYTES);
        signatures.push({ payload, signature, layer, location: where, mode });
      } catch (err) {
        rejected.push({ location: where, reason: (err as Error).message });
      }
    }
  }
  return { signatures, rejected };
}

/** cosign's config for a `.sig` manifest: an empty image whose diff_ids are the payload digests. */
function legacyConfig(layers: Descriptor[]): Buffer {
  return Buffer.from(
    JSON.stringify({
      architecture: '',
      created: '0001-01-01T00:00:00Z',
      history: [{ created: '0001-01-01T00:00:00Z' }],
      os: '',
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
      config: {},
    }),
  );
}

function sameSignature(a: Descriptor, b: Descriptor): boolean {
  return a.digest === b.digest && a.annotations?.[SIGNATURE_ANNOTATION] === b.annotations?.[SIGNATURE_ANNOTATION];
}

/**
 * Attach one signature (payload + base64 signature + extra layer annotations)
 * to `digest`. Legacy mode appends a layer to the `.sig` manifest unless an
 * identical one is there; OCI 1.1 mode stores one referrer manifest per
 * signature (identical signatures yield identical manifests, hence no duplicates).
 */
export async function attachCosignSignature(
  store: ArtifactStore,
  subject: { digest: Digest; mediaType: string; size: number },
  payload: Buffer,
  signature: string,
  mode: StorageMode,
  extraAnnotations: Record<string, string> = {},
): Promise<{ added: boolean; manifestDigest: Digest }> {
  const layer: Descriptor = { ...(await store.putBlob(payload, SIMPLE_SIGNING_MEDIA_TYPE)), annotations: { ...extraAnnotations, [SIGNATURE_ANNOTATION]: signature } };
  if (mode === 'oci-1-1') {
    const config = await store.putBlob(EMPTY_CONFIG, MediaType.ociEmpty);
    const manifest = {
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      artifactType: COSIGN_SIG_ARTIFACT_TYPE,
      config,
      layers: [layer],
      subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    };
    const bytes = Buffer.from(JSON.stringify(manifest));
    const existing = await store.getManifest(digestOf(bytes)).catch(() => undefined);
    const manifestDigest = await store.putManifest(bytes, MediaType.ociManifest);
    await store.recordReferrer?.(subject.digest, { mediaType: MediaType.ociManifest, digest: manifestDigest, size: bytes.length, artifactType: COSIGN_SIG_ARTIFACT_TYPE });
    return { added: existing === undefined, manifestDigest };
  }
  const tag = signatureTag(subject.digest);
  const existing = await store.getManifest(tag);
  let layers: Descriptor[] = [];
  if (existing) {
    const parsed = parseManifest(existing.bytes, existing.mediaType);
    if (parsed.kind !== 'manifest') throw new BerthError('MANIFEST_INVALID', `${store.description}: tag ${tag} is an index, not a signature manifest`);
    layers = parsed.manifest.layers;
    if (layers.some((l) => sameSignature(l, layer))) return { added: false, manifestDigest: existing.digest };
  }
  layers = [...layers, layer];
  const config = await store.putBlob(legacyConfig(layers), MediaType.ociConfig);
  const manifest = { schemaVersion: 2, mediaType: MediaType.ociManifest, config, layers };
  const manifestDigest = await store.putManifest(Buffer.from(JSON.stringify(manifest)), MediaType.ociManifest, tag);
  return { added: true, manifestDigest };
}
