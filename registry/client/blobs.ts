import { Readable } from 'node:stream';
import { request } from './http.js';
import { BerthError } from '../../src/errors/BerthError.js';
import type { Descriptor } from '../../src/oci/descriptor.js';
import type { Digest } from '../../src/oci/digest.js';
import { discard, readLimited } from './body.js';
import { networkError, responseError } from './errors.js';
import { pullScope, pushScope, type RegistryClient, type RegistryResponse } from './RegistryClient.js';
import { isRetryableNetworkError, isRetryableStatus } from './retry.js';

const MAX_REDIRECTS = 5;

/** Whether the repository holds the blob (HEAD). */
export async function blobExists(client: RegistryClient, repository: string, digest: Digest): Promise<boolean> {
  return (await headBlob(client, repository, digest)) !== undefined;
}

/** HEAD of a blob: undefined when the repository does not hold it, else its Content-Length (when the registry sent a usable one). */
export async function headBlob(client: RegistryClient, repository: string, digest: Digest): Promise<{ size: number | undefined } | undefined> {
  const what = `HEAD blob ${repository}@${digest}`;
  const res = await client.send({ method: 'HEAD', path: `/v2/${repository}/blobs/${digest}`, scopes: [pullScope(repository)], what });
  await discard(res.body);
  if (res.statusCode === 404) return undefined;
  if (res.statusCode !== 200) throw responseError(client.host, what, res.statusCode, '');
  const size = Number(res.headers['content-length']);
  return { size: Number.isSafeInteger(size) ? size : undefined };
}

/**
 * Open the blob at `offset`, following redirects (to storage backends) without
 * sending registry credentials to other origins.
 */
async function openBlob(client: RegistryClient, repository: string, digest: Digest, offset: number): Promise<RegistryResponse> {
  const what = `GET blob ${repository}@${digest}`;
  const headers: Record<string, string> = offset > 0 ? { range: `bytes=${offset}-` } : {};
  let res = await client.send({ method: 'GET', path: `/v2/${repository}/blobs/${digest}`, scopes: [pullScope(repository)], what, headers });
  for (let hops = 0; res.statusCode >= 300 && res.statusCode < 400 && res.statusCode !== 304; hops++) {
    const location = res.headers.location;
    await discard(res.body);
    if (typeof location !== 'string' || hops >= MAX_REDIRECTS) throw new BerthError('REGISTRY_ERROR', `registry ${client.host}: ${what}: bad redirect`);
    const target = new URL(location, res.url);
    if (target.origin === res.url.origin) {
      res = await client.send({ method: 'GET', path: target.href, scopes: [pullScope(repository)], what, headers });
    } else {
      res = await openForeign(client, target, headers, what);
    }
  }
  return res;
}

/** A redirect target on another host (object storage): no credentials, same retry rules. */
async function openForeign(client: RegistryClient, url: URL, headers: Record<string, string>, what: string): Promise<RegistryResponse> {
  for (let attempt = 0; ; attempt++) {
    try {
      const res = await request(url, { method: 'GET', headers: { ...headers, 'user-agent': client.userAgent }, dispatcher: client.dispatcherForForeign() });
      if (isRetryableStatus(res.statusCode) && attempt < client.retry.times) {
        await discard(res.body);
        await client.retry.wait(attempt, res.headers['retry-after']);
        continue;
      }
      return { statusCode: res.statusCode, headers: res.headers, body: res.body as RegistryResponse['body'], url };
    } catch (err) {
      if (isRetryableNetworkError(err) && attempt < client.retry.times) {
        await client.retry.wait(attempt);
        continue;
      }
      throw networkError(client.host, what, err);
    }
  }
}

/**
 * A stream of the blob's bytes that survives broken connections: when the
 * body fails or ends short of the descriptor's size, it asks again with
 * `Range: bytes=N-` and carries on (skipping N bytes if the registry ignores
 * Range). The caller still verifies the digest: bytes are never trusted here.
 * Chunks are passed on as the socket delivers them, with backpressure, and
 * without per-chunk promises (this path carries gigabytes).
 */
export function blobStream(client: RegistryClient, repository: string, descriptor: Descriptor): Readable {
  return new ResumableBlobReader(client, repository, descriptor);
}

class ResumableBlobReader extends Readable {
  private offset = 0;
  private failures = 0;
  private body: RegistryResponse['body'] | undefined;
  private opening = false;
  private readonly what: string;

  constructor(
    private readonly client: RegistryClient,
    private readonly repository: string,
    private readonly descriptor: Descriptor,
  ) {
    super({ highWaterMark: 128 * 1024 });
    this.what = `GET blob ${repository}@${descriptor.digest}`;
  }

  override _read(): void {
    if (this.body) this.body.resume();
    else if (!this.opening) void this.open();
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.body?.destroy();
    this.body = undefined;
    done(err);
  }

  private async open(): Promise<void> {
    this.opening = true;
    try {
      // Opening is retried inside client.send; only a body that breaks midway is resumed here.
      const res = await openBlob(this.client, this.repository, this.descriptor.digest, this.offset);
      let skip = 0;
      if (res.statusCode === 200) {
        skip = this.offset;
      } else if (res.statusCode === 206 && this.offset > 0) {
        const start = /bytes (\d+)-/.exec(String(res.headers['content-range'] ?? ''));
        if (!start || Number(start[1]) !== this.offset) {
          res.body.destroy();
          throw new BerthError('REGISTRY_ERROR', `registry ${this.client.host}: ${this.what}: resumed at the wrong offset`);
        }
      } else {
        const text = await readLimited(res.body, 64 * 1024).catch(() => '');
        throw responseError(this.client.host, this.what, res.statusCode, text, res.statusCode === 404 ? 'BLOB_UNKNOWN' : undefined);
      }
      if (this.destroyed) {
        res.body.destroy();
        return;
      }
      this.attach(res.body, skip);
    } catch (err) {
      this.destroy(err as Error);
    } finally {
      this.opening = false;
    }
  }

  private attach(body: RegistryResponse['body'], skip: number): void {
    this.body = body;
    let toSkip = skip;
    let settled = false;
    body.on('data', (raw: Buffer) => {
      let chunk = raw;
      if (toSkip > 0) {
        if (chunk.length <= toSkip) {
          toSkip -= chunk.length;
          return;
        }
        chunk = chunk.subarray(toSkip);
        toSkip = 0;
      }
      this.offset += chunk.length;
      if (!this.push(chunk)) body.pause();
    });
    const broken = (err: unknown): void => {
      if (settled) return;
      settled = true;
      this.body = undefined;
      body.destroy();
      if (isRetryableNetworkError(err) && this.failures < this.client.retry.times) void this.resume_();
      else this.destroy(networkError(this.client.host, this.what, err));
    };
    body.once('error', broken);
    body.once('end', () => {
      if (settled) return;
      settled = true;
      this.body = undefined;
      if (this.offset < this.descriptor.size && this.failures < this.client.retry.times) {
        // The connection ended early without an error (a truncated body): resume where it stopped.
        void this.resume_();
        return;
      }
      this.push(null);
    });
  }

  private async resume_(): Promise<void> {
    await this.client.retry.wait(this.failures++);
    if (!this.destroyed) await this.open();
  }
}

/** Ask the registry to link a blob from another repository it holds (cross-repository mount). */
export async function mountBlob(client: RegistryClient, repository: string, from: string, digest: Digest): Promise<boolean> {
  const what = `mount blob ${digest} from ${from} into ${repository}`;
  const query = `?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`;
  const res = await client.send({ method: 'POST', path: `/v2/${repository}/blobs/uploads/${query}`, scopes: [pushScope(repository), pullScope(from)], what, headers: { 'content-length': '0' } });
  await discard(res.body);
  if (res.statusCode === 201) return true;
  if (res.statusCode === 202) {
    // The registry opened an ordinary upload instead; give it back rather than leave it dangling.
    const location = res.headers.location;
    if (typeof location === 'string') await cancelUpload(client, repository, location);
    return false;
  }
  if (res.statusCode === 401 || res.statusCode === 403 || res.statusCode === 404 || res.statusCode === 405) return false;
  throw responseError(client.host, what, res.statusCode, '');
}

async function cancelUpload(client: RegistryClient, repository: string, location: string): Promise<void> {
  try {
    const res = await client.send({ method: 'DELETE', path: location, scopes: [pushScope(repository)], what: 'cancel upload', retry: false });
    await discard(res.body);
  } catch {
    // the registry expires abandoned uploads itself
  }
}

async function startUpload(client: RegistryClient, repository: string, what: string): Promise<{ location: string; chunkMin: number }> {
  const res = await client.expect({ method: 'POST', path: `/v2/${repository}/blobs/uploads/`, scopes: [pushScope(repository)], what, headers: { 'content-length': '0' } }, [202]);
  await discard(res.body);
  const location = res.headers.location;
  if (typeof location !== 'string') throw new BerthError('REGISTRY_ERROR', `registry ${client.host}: ${what}: no upload Location`);
  const chunkMin = Number(res.headers['oci-chunk-min-length'] ?? 0);
  return { location: new URL(location, res.url).href, chunkMin: Number.isSafeInteger(chunkMin) && chunkMin > 0 ? chunkMin : 0 };
}

function withDigest(location: string, digest: Digest): string {
  const url = new URL(location);
  url.searchParams.set('digest', digest);
  return url.href;
}

/** Blobs up to this size are read into memory and uploaded in one PUT that can be retried. */
const SMALL_BLOB = 1024 * 1024;
const DEFAULT_CHUNK = 16 * 1024 * 1024;

/**
 * Upload a blob: small ones monolithically (POST, PUT with the bytes, retried),
 * large ones streamed in one PATCH, or in chunks when the registry sets
 * OCI-Chunk-Min-Length. The registry checks the digest at the final PUT;
 * if the content stream fails first (a digest mismatch found by the pipeline),
 * the upload is cancelled and never completed.
 */
export async function uploadBlob(client: RegistryClient, repository: string, descriptor: Descriptor, content: Readable): Promise<void> {
  const what = `upload blob ${descriptor.digest} to ${repository}`;
  if (descriptor.size >= 0 && descriptor.size <= SMALL_BLOB) {
    const bytes = await collect(content, descriptor.size);
    const { location } = await startUpload(client, repository, what);
    const res = await client.expect({ method: 'PUT', path: withDigest(location, descriptor.digest), scopes: [pushScope(repository)], what, headers: { 'content-type': 'application/octet-stream' }, body: bytes }, [201, 204]);
    await discard(res.body);
    return;
  }
  const { location, chunkMin } = await startUpload(client, repository, what);
  try {
    const final = chunkMin > 0
      ? await uploadChunked(client, repository, location, content, Math.max(chunkMin, client.options.chunkSize ?? DEFAULT_CHUNK), what)
      : { location: await uploadStreamed(client, repository, location, content, descriptor.size, what), rest: Buffer.alloc(0) };
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
    if (final.rest.length > 0) headers['content-range'] = `${descriptor.size - final.rest.length}-${descriptor.size - 1}`;
    const res = await client.expect({ method: 'PUT', path: withDigest(final.location, descriptor.digest), scopes: [pushScope(repository)], what, headers, body: final.rest }, [201, 204]);
    await discard(res.body);
  } catch (err) {
    content.destroy();
    await cancelUpload(client, repository, location);
    throw err;
  }
}

async function uploadStreamed(client: RegistryClient, repository: string, location: string, content: Readable, size: number, what: string): Promise<string> {
  let streamError: unknown;
  content.once('error', (err) => {
    streamError = err;
  });
  // The content stream fails with a BerthError when the pipeline finds wrong bytes; that error is the
  // one to report. Anything else (the socket dying and undici destroying the body) is a network error.
  const failure = (err: unknown): unknown => (streamError instanceof BerthError ? streamError : err instanceof BerthError ? err : networkError(client.host, what, err ?? streamError));
  let res: RegistryResponse;
  try {
    // A known length is sent as such (as skopeo does): chunked transfer encoding costs two socket writes per chunk.
    const length: Record<string, string> = size >= 0 ? { 'content-length': String(size) } : {};
    res = await client.send({ method: 'PATCH', path: location, scopes: [pushScope(repository)], what, headers: { 'content-type': 'application/octet-stream', ...length }, body: content, retry: false });
  } catch (err) {
    throw failure(err);
  }
  if (streamError) {
    await discard(res.body);
    throw failure(streamError);
  }
  if (res.statusCode !== 202) throw responseError(client.host, what, res.statusCode, await readLimited(res.body, 64 * 1024).catch(() => ''));
  await discard(res.body);
  const next = res.headers.location;
  return typeof next === 'string' ? new URL(next, res.url).href : location;
}

async function uploadChunked(client: RegistryClient, repository: string, location: string, content: Readable, chunkSize: number, what: string): Promise<{ location: string; rest: Buffer }> {
  let current = location;
  let offset = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const send = async (body: Buffer): Promise<void> => {
    const range = `${offset}-${offset + body.length - 1}`;
    const res = await client.expect({ method: 'PATCH', path: current, scopes: [pushScope(repository)], what, headers: { 'content-type': 'application/octet-stream', 'content-range': range, 'content-length': String(body.length) }, body }, [202]);
    await discard(res.body);
    const next = res.headers.location;
    if (typeof next === 'string') current = new URL(next, res.url).href;
    offset += body.length;
  };
  // Chunks of exactly chunkSize (the last may be shorter): memory stays bounded by one chunk.
  for await (const chunk of content as AsyncIterable<Buffer>) {
    pending.push(chunk);
    pendingBytes += chunk.length;
    while (pendingBytes >= chunkSize) {
      const all = Buffer.concat(pending, pendingBytes);
      await send(all.subarray(0, chunkSize));
      const rest = all.subarray(chunkSize);
      pending = rest.length > 0 ? [rest] : [];
      pendingBytes = rest.length;
    }
  }
  // The last, possibly short, chunk travels with the closing PUT, as the spec allows (a short PATCH would be refused).
  return { location: current, rest: Buffer.concat(pending, pendingBytes) };
}

async function collect(content: Readable, size: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of content as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > size) break;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, Math.min(total, size));
}
