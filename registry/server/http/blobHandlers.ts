import type { FileHandle } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { isDigest, type Digest } from '../../../src/oci/digest.js';
import type { RequestContext } from './context.js';
import { RegistryError } from './registryError.js';
import { send } from './respond.js';

export function requireDigest(value: string | null): Digest {
  if (value === null || !isDigest(value)) throw new RegistryError(400, 'DIGEST_INVALID', `invalid digest "${(value ?? '').slice(0, 80)}"`);
  return value;
}

/** GET/HEAD a blob, honouring a single `Range: bytes=…` (206 / 416). */
export async function getBlob(ctx: RequestContext, name: string, digestText: string): Promise<void> {
  const digest = requireDigest(digestText);
  if (ctx.mirror) await ctx.mirror.ensureBlob(name, digest);
  const opened = await ctx.storage.openBlob(name, digest);
  if (!opened) throw new RegistryError(404, 'BLOB_UNKNOWN', `blob ${digest} is unknown to repository ${name}`, { digest });
  const { handle, size } = opened;
  try {
    const headers: Record<string, string | number> = {
      'Content-Type': 'application/octet-stream',
      'Docker-Content-Digest': digest,
      'Accept-Ranges': 'bytes',
      ETag: `"${digest}"`,
      'Cache-Control': 'max-age=31536000',
    };
    let start = 0;
    let end = size - 1;
    let status = 200;
    const range = ctx.req.headers.range;
    if (range !== undefined) {
      const parsed = parseRange(range, size);
      if (!parsed) {
        send(ctx.req, ctx.res, 416, { 'Content-Range': `bytes */${size}`, 'Content-Type': 'application/json' });
        return;
      }
      [start, end] = parsed;
      status = 206;
      headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
    }
    headers['Content-Length'] = size === 0 ? 0 : end - start + 1;
    if (ctx.req.method === 'HEAD' || size === 0) {
      send(ctx.req, ctx.res, status, headers);
      return;
    }
    ctx.res.writeHead(status, { 'Docker-Distribution-API-Version': 'registry/2.0', ...headers });
    await streamFile(handle, start, end, ctx);
  } finally {
    await handle.close();
  }
}

async function streamFile(handle: FileHandle, start: number, end: number, ctx: RequestContext): Promise<void> {
  const stream = handle.createReadStream({ start, end, autoClose: false, highWaterMark: 256 << 10 });
  try {
    await pipeline(stream, ctx.res);
  } catch {
    // The client went away mid-download; nothing to answer any more.
    ctx.res.destroy();
  }
}

/** `bytes=a-b`, `bytes=a-`, `bytes=-n`; one range only. undefined = unsatisfiable. */
export function parseRange(header: string, size: number): [number, number] | undefined {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return undefined;
    return [Math.max(size - suffix, 0), size - 1];
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return undefined;
  return [start, end];
}

export async function deleteBlob(ctx: RequestContext, name: string, digestText: string): Promise<void> {
  if (!ctx.limits.deleteEnabled) throw new RegistryError(405, 'UNSUPPORTED', 'deletes are disabled on this registry');
  const digest = requireDigest(digestText);
  if (!(await ctx.storage.unlinkBlob(name, digest))) throw new RegistryError(404, 'BLOB_UNKNOWN', `blob ${digest} is unknown to repository ${name}`, { digest });
  send(ctx.req, ctx.res, 202, { 'Docker-Content-Digest': digest });
}
