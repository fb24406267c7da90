import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { request } from './http.js';
import { BerthError } from '../../src/errors/BerthError.js';
import { resolveCredentials } from '../../src/credentials/resolve.js';
import type { Credentials } from '../../src/credentials/types.js';
import { digestOf, parseDigest, type Digest } from '../../src/oci/digest.js';
import { MAX_MANIFEST_BYTES } from '../../src/oci/manifest.js';
import { MediaType } from '../../src/oci/mediaTypes.js';
import { Authenticator } from './authenticator.js';
import { discard, readLimited, readLimitedBuffer } from './body.js';
import { repositoryScope } from './challenge.js';
import { dispatcherFor, isLoopbackHost } from './dispatcher.js';
import { networkError, responseError } from './errors.js';
import type { RegistryOptions } from './options.js';
import { RetryPolicy, isRetryableNetworkError, isRetryableStatus } from './retry.js';

/** Every manifest type berth can read, preferred first (what skopeo sends, plus OCI index/manifest first). */
export const MANIFEST_ACCEPT = [
  MediaType.ociIndex,
  MediaType.ociManifest,
  MediaType.dockerManifestList,
  MediaType.dockerManifest,
].join(', ');

export interface RegistryResponse {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  body: Readable & { dump?: (opts?: { limit: number }) => Promise<void> };
  url: URL;
}

export interface RequestSpec {
  method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';
  /** A path on the registry (`/v2/...`) or an absolute URL (upload locations). */
  path: string;
  scopes: string[];
  /** Describes the request in errors: "GET manifest repo:tag". */
  what: string;
  headers?: Record<string, string>;
  /** A Buffer can be sent again on retry; a stream cannot, so its requests are tried once. */
  body?: Buffer | string | Readable;
  /** Ask again on connection errors, 408, 429, 5xx (only when the body can be replayed). Default true. */
  retry?: boolean;
}

export interface ManifestResult {
  bytes: Buffer;
  mediaType: string;
  digest: Digest;
}

const clients = new Map<string, RegistryClient>();

/**
 * A distribution-spec client for one registry host: connection, scheme
 * (HTTPS, or HTTP where allowed), auth, retries. Repository-level operations
 * live in RepositoryClient-style methods taking the repository name.
 */
export class RegistryClient {
  readonly host: string;
  readonly options: RegistryOptions;
  readonly retry: RetryPolicy;
  private readonly dispatcher: Dispatcher;
  private readonly auth: Authenticator;
  private origin: Promise<string> | undefined;
  private credentialsPromise: Promise<Credentials | undefined> | undefined;
  readonly userAgent: string;

  /** Clients are shared per host and options so that connections and tokens are reused across images. */
  static for(host: string, options: RegistryOptions = {}): RegistryClient {
    const key = `${host}\0${JSON.stringify(options)}`;
    let client = clients.get(key);
    if (!client) {
      client = new RegistryClient(host, options);
      clients.set(key, client);
    }
    return client;
  }

  constructor(host: string, options: RegistryOptions = {}) {
    this.host = host;
    this.options = options;
    this.retry = new RetryPolicy(options);
    this.userAgent = options.userAgent ?? 'berth/0.1';
    this.dispatcher = dispatcherFor(options.tlsVerify !== false, options.certDir, options.timeouts);
    this.auth = new Authenticator(host, () => this.credentials(), this.dispatcher, this.userAgent);
  }

  /** The pool for redirect targets (object storage): same TLS settings, never the registry's credentials. */
  dispatcherForForeign(): Dispatcher {
    return this.dispatcher;
  }

  /** Credentials are looked up once, lazily: anonymous registries never run a credential helper. */
  credentials(): Promise<Credentials | undefined> {
    this.credentialsPromise ??= this.options.noCreds ? Promise.resolve(undefined) : resolveCredentials(this.host, undefined, this.options).then((found) => found?.credentials);
    return this.credentialsPromise;
  }

  /** `https://host` or, for loopback and --tls-verify=false registries that do not speak TLS, `http://host`. */
  baseURL(): Promise<string> {
    this.origin ??= this.detectOrigin();
    return this.origin;
  }

  private async detectOrigin(): Promise<string> {
    const name = this.host === 'docker.io' ? 'registry-1.docker.io' : this.host;
    // A loopback registry is asked in plain HTTP first (docker and skopeo allow it there): a TLS probe that fails
    // costs ~30 ms of building the CA store and a handshake, a sixth of a small copy. The ping carries no
    // credentials. A TLS server answers it with a 400 (Go's) or drops the connection (Node's): then HTTPS.
    const plainFirst = isLoopbackHost(name);
    const candidates = plainFirst ? [`http://${name}`, `https://${name}`] : [`https://${name}`];
    if (!plainFirst && this.options.tlsVerify === false) candidates.push(`http://${name}`);
    let lastError: unknown;
    let httpsError: unknown;
    for (const origin of candidates) {
      const probing = plainFirst && origin.startsWith('http:');
      for (let attempt = 0; ; attempt++) {
        try {
          const res = await request(new URL(`${origin}/v2/`), { method: 'GET', dispatcher: this.dispatcher, headers: { 'user-agent': this.userAgent } });
          await discard(res.body);
          if (probing && res.statusCode === 400) {
            lastError = responseError(this.host, 'ping /v2/', res.statusCode, '');
            break;
          }
          if (isRetryableStatus(res.statusCode) && attempt < this.retry.times) {
            await this.retry.wait(attempt, res.headers['retry-after']);
            continue;
          }
          if (res.statusCode === 401) this.auth.learn(res.headers['www-authenticate']);
          else if (res.statusCode !== 200) throw responseError(this.host, 'ping /v2/', res.statusCode, '');
          return origin;
        } catch (err) {
          if (err instanceof BerthError) throw err;
          lastError = err;
          if (origin.startsWith('https:')) httpsError = err;
          if (probing && droppedPlainRequest(err)) break;
          const tlsMismatch = origin.startsWith('https:') && candidates.length > 1 && !plainFirst;
          if (!tlsMismatch && isRetryableNetworkError(err) && attempt < this.retry.times) {
            await this.retry.wait(attempt);
            continue;
          }
          // A loopback registry that times out or refuses plain HTTP would not do better in TLS.
          if (probing) throw networkError(this.host, 'cannot reach registry', err);
          break;
        }
      }
    }
    // When HTTPS failed on the certificate, that is what the user needs to hear, not the HTTP fallback's error.
    const certificateProblem = /certificate|self[- ]signed|CERT_|unable to verify/i.test(String((httpsError as Error | undefined)?.message ?? '') + String((httpsError as { code?: string } | undefined)?.code ?? ''));
    throw networkError(this.host, 'cannot reach registry', certificateProblem ? httpsError : lastError);
  }

  /** Check the registry answers and the credentials work (what `login` does). */
  async ping(scopes: string[] = []): Promise<void> {
    const res = await this.send({ method: 'GET', path: '/v2/', scopes, what: 'ping' });
    await discard(res.body);
    if (res.statusCode !== 200) throw responseError(this.host, 'ping /v2/', res.statusCode, '');
  }

  /**
   * Send one request with auth and bounded retries. Returns the final
   * response whatever its status; callers decide what success is.
   */
  async send(spec: RequestSpec): Promise<RegistryResponse> {
    const base = await this.baseURL();
    const url = new URL(spec.path, base);
    // Credentials go only to the registry itself, never to another origin named in a Location or Link header.
    const sameOrigin = url.origin === new URL(base).origin;
    const replayable = !(spec.body instanceof Readable);
    const mayRetry = spec.retry !== false && replayable;
    let scopes = spec.scopes;
    let authRetried = false;
    for (let attempt = 0; ; ) {
      const authorization = sameOrigin ? await this.auth.header(scopes) : undefined;
      const headers: Record<string, string> = { 'user-agent': this.userAgent, ...spec.headers };
      if (authorization) headers.authorization = authorization;
      let res: Dispatcher.ResponseData;
      try {
        res = await request(url, { method: spec.method, headers, body: spec.body, dispatcher: this.dispatcher });
      } catch (err) {
        if (mayRetry && isRetryableNetworkError(err) && attempt < this.retry.times) {
          await this.retry.wait(attempt++);
          continue;
        }
        throw networkError(this.host, spec.what, err);
      }
      if (res.statusCode === 401 && !authRetried && replayable && sameOrigin) {
        const retryScopes = await this.auth.unauthorized(res.headers['www-authenticate'], scopes, authorization);
        if (retryScopes) {
          await discard(res.body);
          scopes = retryScopes;
          authRetried = true;
          continue;
        }
      }
      if (mayRetry && isRetryableStatus(res.statusCode) && attempt < this.retry.times) {
        await discard(res.body);
        await this.retry.wait(attempt++, res.headers['retry-after']);
        continue;
      }
      return { statusCode: res.statusCode, headers: res.headers, body: res.body as RegistryResponse['body'], url };
    }
  }

  /** Send and fail with the registry's error unless the status is one of `ok`. */
  async expect(spec: RequestSpec, ok: number[]): Promise<RegistryResponse> {
    const res = await this.send(spec);
    if (!ok.includes(res.statusCode)) {
      const text = spec.method === 'HEAD' ? '' : await readLimited(res.body, 64 * 1024).catch(() => '');
      throw responseError(this.host, spec.what, res.statusCode, text);
    }
    return res;
  }

  // ---- manifests ----

  async getManifest(repository: string, reference: string): Promise<ManifestResult> {
    const what = `GET manifest ${repository}${refSuffix(reference)}`;
    const res = await this.send({ method: 'GET', path: `/v2/${repository}/manifests/${reference}`, scopes: [pullScope(repository)], what, headers: { accept: MANIFEST_ACCEPT } });
    if (res.statusCode !== 200) {
      const text = await readLimited(res.body, 64 * 1024).catch(() => '');
      throw responseError(this.host, what, res.statusCode, text, res.statusCode === 404 ? 'MANIFEST_UNKNOWN' : undefined);
    }
    const declared = Number(res.headers['content-length']);
    if (Number.isFinite(declared) && declared > MAX_MANIFEST_BYTES) {
      res.body.destroy();
      throw new BerthError('MANIFEST_INVALID', `registry ${this.host}: manifest ${repository}${refSuffix(reference)} is larger than ${MAX_MANIFEST_BYTES} bytes`);
    }
    let bytes: Buffer;
    try {
      bytes = await readLimitedBuffer(res.body, MAX_MANIFEST_BYTES, `manifest ${repository}${refSuffix(reference)}`);
    } catch (err) {
      throw err instanceof BerthError ? err : networkError(this.host, what, err);
    }
    const digest = digestOf(bytes);
    if (reference.includes(':') && digest !== reference) {
      throw new BerthError('DIGEST_MISMATCH', `registry ${this.host}: manifest ${repository}@${reference} has digest ${digest}`);
    }
    const mediaType = String(res.headers['content-type'] ?? '').split(';')[0]!.trim();
    return { bytes, mediaType, digest };
  }

  /** Digest, type and size of a manifest without its body, or undefined when it does not exist. */
  async headManifest(repository: string, reference: string): Promise<{ digest: Digest | undefined; mediaType: string; size: number } | undefined> {
    const what = `HEAD manifest ${repository}${refSuffix(reference)}`;
    const res = await this.send({ method: 'HEAD', path: `/v2/${repository}/manifests/${reference}`, scopes: [pullScope(repository)], what, headers: { accept: MANIFEST_ACCEPT } });
    await discard(res.body);
    if (res.statusCode === 404) return undefined;
    if (res.statusCode !== 200) throw responseError(this.host, what, res.statusCode, '');
    const header = res.headers['docker-content-digest'];
    let digest: Digest | undefined;
    try {
      digest = header !== undefined ? parseDigest(String(header)) : undefined;
    } catch {
      digest = undefined;
    }
    return { digest, mediaType: String(res.headers['content-type'] ?? '').split(';')[0]!.trim(), size: Number(res.headers['content-length'] ?? -1) };
  }

  async putManifest(repository: string, reference: string, bytes: Buffer, mediaType: string): Promise<Digest> {
    const what = `PUT manifest ${repository}${refSuffix(reference)}`;
    const res = await this.expect({ method: 'PUT', path: `/v2/${repository}/manifests/${reference}`, scopes: [pushScope(repository)], what, headers: { 'content-type': mediaType }, body: bytes }, [200, 201, 202]);
    await discard(res.body);
    return digestOf(bytes);
  }

  async deleteManifest(repository: string, reference: string): Promise<void> {
    const what = `DELETE manifest ${repository}${refSuffix(reference)}`;
    const res = await this.send({ method: 'DELETE', path: `/v2/${repository}/manifests/${reference}`, scopes: [deleteScope(repository)], what });
    const text = await readLimited(res.body, 64 * 1024).catch(() => '');
    if (res.statusCode === 202 || res.statusCode === 200) return;
    throw responseError(this.host, what, res.statusCode, text, res.statusCode === 404 ? 'MANIFEST_UNKNOWN' : undefined);
  }

  /**
   * Delete a tag alone (OCI 1.1: DELETE of the manifest by tag). False when the registry does not
   * delete tags (400, 405, 501), so the caller can decide whether deleting by digest is acceptable.
   */
  async deleteTag(repository: string, tag: string): Promise<boolean> {
    const what = `delete tag ${repository}:${tag}`;
    const res = await this.send({ method: 'DELETE', path: `/v2/${repository}/manifests/${tag}`, scopes: [deleteScope(repository)], what });
    if (res.statusCode === 202 || res.statusCode === 200) {
      await discard(res.body);
      return true;
    }
    const text = await readLimited(res.body, 64 * 1024).catch(() => '');
    if (res.statusCode === 400 || res.statusCode === 405 || res.statusCode === 501) return false;
    throw responseError(this.host, what, res.statusCode, text);
  }

  // ---- tags, catalog, referrers ----

  /** Every tag, following `Link: <...>; rel="next"` pagination. */
  async listTags(repository: string): Promise<string[]> {
    const tags: string[] = [];
    let path: string | undefined = `/v2/${repository}/tags/list`;
    for (let page = 0; path !== undefined; page++) {
      if (page > 10_000) throw new BerthError('REGISTRY_ERROR', `registry ${this.host}: tag list of ${repository} does not end`);
      const res = await this.send({ method: 'GET', path, scopes: [pullScope(repository)], what: `list tags of ${repository}` });
      const text = await readLimited(res.body, 32 * 1024 * 1024);
      if (res.statusCode !== 200) throw responseError(this.host, `list tags of ${repository}`, res.statusCode, text, res.statusCode === 404 ? 'NAME_UNKNOWN' : undefined);
      const doc = parseJSONObject(text, `tag list of ${repository}`) as { tags?: unknown };
      if (doc.tags !== null && doc.tags !== undefined) {
        if (!Array.isArray(doc.tags) || !doc.tags.every((t) => typeof t === 'string')) throw new BerthError('REGISTRY_ERROR', `registry ${this.host}: tag list of ${repository} is malformed`);
        tags.push(...(doc.tags as string[]));
      }
      path = nextLink(res.headers.link);
    }
    return tags;
  }

  async catalog(): Promise<string[]> {
    const repositories: string[] = [];
    let path: string | undefined = '/v2/_catalog';
    for (let page = 0; path !== undefined; page++) {
      if (page > 10_000) throw new BerthError('REGISTRY_ERROR', `registry ${this.host}: catalog does not end`);
      const res = await this.send({ method: 'GET', path, scopes: ['registry:catalog:*'], what: 'catalog' });
      const text = await readLimited(res.body, 32 * 1024 * 1024);
      if (res.statusCode !== 200) throw responseError(this.host, 'catalog', res.statusCode, text);
      const doc = parseJSONObject(text, 'catalog') as { repositories?: unknown };
      if (Array.isArray(doc.repositories)) repositories.push(...doc.repositories.filter((r): r is string => typeof r === 'string'));
      path = nextLink(res.headers.link);
    }
    return repositories;
  }

  /**
   * Referrers of a manifest (OCI 1.1). Registries without the API answer 404;
   * then the fallback tag `sha256-<hex>` holds an index of referrers, if any.
   */
  async referrers(repository: string, digest: Digest, artifactType?: string): Promise<{ index: Buffer | undefined; viaFallbackTag: boolean }> {
    const query = artifactType ? `?artifactType=${encodeURIComponent(artifactType)}` : '';
    const what = `referrers of ${repository}@${digest}`;
    const res = await this.send({ method: 'GET', path: `/v2/${repository}/referrers/${digest}${query}`, scopes: [pullScope(repository)], what, headers: { accept: MediaType.ociIndex } });
    if (res.statusCode === 200) return { index: await readLimitedBuffer(res.body, MAX_MANIFEST_BYTES, what), viaFallbackTag: false };
    await discard(res.body);
    if (res.statusCode !== 404) throw responseError(this.host, what, res.statusCode, '');
    const tag = digest.replace(':', '-');
    try {
      const manifest = await this.getManifest(repository, tag);
      return { index: manifest.bytes, viaFallbackTag: true };
    } catch (err) {
      if (err instanceof BerthError && (err.code === 'MANIFEST_UNKNOWN' || err.code === 'NOT_FOUND')) return { index: undefined, viaFallbackTag: true };
      throw err;
    }
  }
}

export function pullScope(repository: string): string {
  return repositoryScope(repository, 'pull');
}

export function pushScope(repository: string): string {
  return repositoryScope(repository, 'pull,push');
}

export function deleteScope(repository: string): string {
  return repositoryScope(repository, 'delete');
}

function refSuffix(reference: string): string {
  return reference.includes(':') ? `@${reference}` : `:${reference}`;
}

function parseJSONObject(text: string, what: string): Record<string, unknown> {
  try {
    const doc = JSON.parse(text) as unknown;
    if (doc && typeof doc === 'object' && !Array.isArray(doc)) return doc as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new BerthError('REGISTRY_ERROR', `${what} is not a JSON object`);
}

/** `Link: </v2/x/tags/list?last=a&n=100>; rel="next"` → the path to ask next. */
export function nextLink(header: string | string[] | undefined): string | undefined {
  for (const value of header === undefined ? [] : [header].flat()) {
    const match = /<([^>]+)>\s*;\s*rel="?next"?/.exec(value);
    if (match) return match[1];
  }
  return undefined;
}

/** A plain HTTP request that a TLS server dropped: the socket closed or reset before any HTTP came back. */
function droppedPlainRequest(err: unknown): boolean {
  const code = (err as { code?: string } | undefined)?.code ?? '';
  return code === 'UND_ERR_SOCKET' || code === 'ECONNRESET' || code.startsWith('HPE_');
}
