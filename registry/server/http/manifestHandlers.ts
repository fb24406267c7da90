import { isBerthError } from '../../../src/errors/BerthError.js';
import { digestAlgorithm, digestOf, isDigest, type Digest } from '../../../src/oci/digest.js';
import { parseManifest, type ParsedManifest } from '../../../src/oci/manifest.js';
import { isTag } from '../storage/names.js';
import type { ReferrerDescriptor } from '../storage/registryStorage.js';
import type { RequestContext } from './context.js';
import { RegistryError } from './registryError.js';
import { readLimited, send } from './respond.js';

function unknownManifest(name: string, reference: string): RegistryError {
  return new RegistryError(404, 'MANIFEST_UNKNOWN', `manifest ${reference.slice(0, 140)} is unknown to repository ${name}`);
}

async function resolve(ctx: RequestContext, name: string, reference: string): Promise<Digest> {
  if (isDigest(reference)) return reference;
  if (!isTag(reference)) throw unknownManifest(name, reference);
  const digest = await ctx.storage.resolveTag(name, reference);
  if (!digest) throw unknownManifest(name, reference);
  return digest;
}

export async function getManifest(ctx: RequestContext, name: string, reference: string): Promise<void> {
  if (ctx.mirror && (isDigest(reference) || isTag(reference))) await ctx.mirror.ensureManifest(name, reference);
  const digest = await resolve(ctx, name, reference);
  const stored = await ctx.storage.getManifest(name, digest);
  if (!stored) throw unknownManifest(name, reference);
  send(ctx.req, ctx.res, 200, { 'Content-Type': stored.mediaType, 'Docker-Content-Digest': digest, ETag: `"${digest}"` }, stored.bytes);
}

/**
 * PUT a manifest by tag or digest. The bytes are kept exactly as sent (their
 * digest is the identity); everything they reference in this repository must
 * already be there, except a `subject`, which the spec lets arrive later.
 */
export async function putManifest(ctx: RequestContext, name: string, reference: string): Promise<void> {
  const byDigest = isDigest(reference);
  if (!byDigest && !isTag(reference)) throw new RegistryError(400, 'MANIFEST_INVALID', `invalid tag "${reference.slice(0, 140)}"`);
  const bytes = await readLimited(ctx.req, ctx.limits.maxManifestBytes, 'manifest');
  let parsed: ParsedManifest;
  try {
    parsed = parseManifest(bytes, ctx.req.headers['content-type']);
  } catch (err) {
    if (isBerthError(err)) throw new RegistryError(400, 'MANIFEST_INVALID', err.message);
    throw err;
  }
  const digest = byDigest ? digestOf(bytes, digestAlgorithm(reference)) : parsed.digest;
  if (byDigest && digest !== reference) throw new RegistryError(400, 'DIGEST_INVALID', `manifest content has digest ${digest}, not ${reference}`);
  await requireReferencedContent(ctx, name, parsed);

  await ctx.storage.putManifest(name, digest, parsed.mediaType, bytes);
  if (!byDigest) await ctx.storage.setTag(name, reference, digest);
  const headers: Record<string, string> = { Location: `/v2/${name}/manifests/${digest}`, 'Docker-Content-Digest': digest };
  const subject = parsed.kind === 'manifest' ? parsed.manifest.subject : parsed.index.subject;
  if (subject) {
    await ctx.storage.addReferrer(name, subject.digest, referrerDescriptor(parsed, digest, bytes.length));
    headers['OCI-Subject'] = subject.digest;
  }
  send(ctx.req, ctx.res, 201, headers);
}

async function requireReferencedContent(ctx: RequestContext, name: string, parsed: ParsedManifest): Promise<void> {
  const missing = (digest: Digest) => new RegistryError(400, 'MANIFEST_BLOB_UNKNOWN', `manifest references ${digest}, which is not in repository ${name}`, { digest });
  if (parsed.kind === 'manifest') {
    for (const blob of [parsed.manifest.config, ...parsed.manifest.layers]) {
      // Foreign layers (with urls) live elsewhere by design.
      if (blob.urls && blob.urls.length > 0) continue;
      const size = await ctx.storage.blobInRepository(name, blob.digest);
      if (size === undefined) throw missing(blob.digest);
      if (size !== blob.size) throw new RegistryError(400, 'MANIFEST_INVALID', `descriptor of ${blob.digest} says ${blob.size} bytes, the blob has ${size}`);
    }
  } else {
    for (const child of parsed.index.manifests) {
      if (!(await ctx.storage.hasManifest(name, child.digest))) throw missing(child.digest);
    }
  }
}

/** The descriptor the referrers API lists: artifactType falls back to the config media type (image manifests). */
function referrerDescriptor(parsed: ParsedManifest, digest: Digest, size: number): ReferrerDescriptor {
  const doc = parsed.kind === 'manifest' ? parsed.manifest : parsed.index;
  const artifactType = doc.artifactType ?? (parsed.kind === 'manifest' ? parsed.manifest.config.mediaType : undefined);
  const out: ReferrerDescriptor = { mediaType: parsed.mediaType, digest, size };
  if (artifactType !== undefined) out.artifactType = artifactType;
  if (doc.annotations !== undefined) out.annotations = doc.annotations;
  return out;
}

/** DELETE by digest removes the manifest (and tags on it); DELETE by tag removes only the tag (spec v1.1). */
export async function deleteManifest(ctx: RequestContext, name: string, reference: string): Promise<void> {
  if (!ctx.limits.deleteEnabled) throw new RegistryError(405, 'UNSUPPORTED', 'deletes are disabled on this registry');
  if (!isDigest(reference)) {
    if (!isTag(reference) || !(await ctx.storage.deleteTag(name, reference))) throw unknownManifest(name, reference);
    send(ctx.req, ctx.res, 202, {});
    return;
  }
  const stored = await ctx.storage.getManifest(name, reference);
  if (!stored) throw unknownManifest(name, reference);
  await ctx.storage.deleteManifestRevision(name, reference);
  try {
    const parsed = parseManifest(stored.bytes, stored.mediaType);
    const subject = parsed.kind === 'manifest' ? parsed.manifest.subject : parsed.index.subject;
    if (subject) await ctx.storage.removeReferrer(name, subject.digest, reference);
  } catch (err) {
    if (!isBerthError(err)) throw err;
  }
  send(ctx.req, ctx.res, 202, {});
}
