import { isDigest } from '../../../src/oci/digest.js';
import { isRepositoryName } from '../storage/names.js';
import { rangeHeader, type UploadSession } from '../storage/uploadSessions.js';
import { requireDigest } from './blobHandlers.js';
import type { RequestContext } from './context.js';
import { RegistryError } from './registryError.js';
import { send } from './respond.js';

function sessionHeaders(name: string, session: UploadSession): Record<string, string> {
  return { Location: `/v2/${name}/blobs/uploads/${session.id}`, Range: rangeHeader(session.size), 'Docker-Upload-UUID': session.id };
}

function declaredLength(ctx: RequestContext): number | undefined {
  const text = ctx.req.headers['content-length'];
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) throw new RegistryError(400, 'SIZE_INVALID', 'invalid Content-Length');
  return Number(text);
}

function hasBody(ctx: RequestContext): boolean {
  const length = declaredLength(ctx);
  return length !== undefined ? length > 0 : ctx.req.headers['transfer-encoding'] !== undefined;
}

/** POST …/blobs/uploads/ : cross-repository mount, monolithic upload (?digest=) or a new upload session. */
export async function startUpload(ctx: RequestContext, name: string): Promise<void> {
  const mount = ctx.query.get('mount');
  const from = ctx.query.get('from');
  if (mount !== null && from !== null && isDigest(mount) && isRepositoryName(from) && ctx.grant.allows('repository', from, 'pull')) {
    if ((await ctx.storage.blobInRepository(from, mount)) !== undefined) {
      await ctx.storage.linkBlob(name, mount);
      send(ctx.req, ctx.res, 201, { Location: `/v2/${name}/blobs/${mount}`, 'Docker-Content-Digest': mount });
      return;
    }
  }
  const digestText = ctx.query.get('digest');
  if (digestText !== null) {
    const digest = requireDigest(digestText);
    const { size } = await ctx.storage.ingest(ctx.req, { digest, size: declaredLength(ctx) }, ctx.limits.maxUploadBytes);
    await ctx.storage.linkBlob(name, digest);
    send(ctx.req, ctx.res, 201, { Location: `/v2/${name}/blobs/${digest}`, 'Docker-Content-Digest': digest, 'OCI-Blob-Size': size });
    return;
  }
  const session = await ctx.uploads.create(name);
  const headers: Record<string, string | number> = { ...sessionHeaders(name, session) };
  if (ctx.limits.chunkMinLength > 0) headers['OCI-Chunk-Min-Length'] = ctx.limits.chunkMinLength;
  send(ctx.req, ctx.res, 202, headers);
}

/** Content-Range `a-b` as the spec writes it; the HTTP form `bytes a-b/total` is accepted too. */
function chunkStart(ctx: RequestContext, name: string, session: UploadSession, final: boolean): number | undefined {
  const header = ctx.req.headers['content-range'];
  if (header === undefined) return undefined;
  const m = /^(?:bytes[ =])?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/.exec(header.trim());
  const invalid = (why: string) => new RegistryError(416, 'BLOB_UPLOAD_INVALID', why, undefined, sessionHeaders(name, session));
  if (!m) throw invalid(`malformed Content-Range "${header.slice(0, 60)}"`);
  const start = Number(m[1]);
  const end = Number(m[2]);
  if (end < start) throw invalid('Content-Range ends before it starts');
  const length = declaredLength(ctx);
  if (length !== undefined && length !== end - start + 1) throw invalid(`Content-Range covers ${end - start + 1} bytes but Content-Length is ${length}`);
  if (!final && ctx.limits.chunkMinLength > 0 && end - start + 1 < ctx.limits.chunkMinLength) {
    throw invalid(`chunk of ${end - start + 1} bytes is smaller than OCI-Chunk-Min-Length ${ctx.limits.chunkMinLength}`);
  }
  return start;
}

export async function patchUpload(ctx: RequestContext, name: string, id: string): Promise<void> {
  const session = await ctx.uploads.get(name, id);
  await ctx.uploads.append(session, ctx.req, chunkStart(ctx, name, session, false));
  send(ctx.req, ctx.res, 202, sessionHeaders(name, session));
}

/** PUT …/uploads/<id>?digest= : optional last chunk, then verify and commit. */
export async function finishUpload(ctx: RequestContext, name: string, id: string): Promise<void> {
  const session = await ctx.uploads.get(name, id);
  const digest = requireDigest(ctx.query.get('digest'));
  if (hasBody(ctx)) await ctx.uploads.append(session, ctx.req, chunkStart(ctx, name, session, true));
  await ctx.uploads.finish(session, digest);
  send(ctx.req, ctx.res, 201, { Location: `/v2/${name}/blobs/${digest}`, 'Docker-Content-Digest': digest });
}

export async function uploadStatus(ctx: RequestContext, name: string, id: string): Promise<void> {
  const session = await ctx.uploads.get(name, id);
  send(ctx.req, ctx.res, 204, sessionHeaders(name, session));
}

export async function cancelUpload(ctx: RequestContext, name: string, id: string): Promise<void> {
  const session = await ctx.uploads.get(name, id);
  await ctx.uploads.cancel(session);
  send(ctx.req, ctx.res, 204, {});
}
