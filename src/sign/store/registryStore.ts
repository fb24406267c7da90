import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseChallenges } from '../../../registry/client/challenge.js';
import type { RegistryOptions } from '../../../registry/client/options.js';
import { BerthError } from '../../errors/BerthError.js';
import { parseDescriptor, type Descriptor } from '../../oci/descriptor.js';
import { digestOf, isDigest, type Digest } from '../../oci/digest.js';
import { MAX_MANIFEST_BYTES, parseManifest } from '../../oci/manifest.js';
import { MediaType } from '../../oci/mediaTypes.js';
import type { ArtifactStore, StoredManifest } from './artifactStore.js';

const MANIFEST_ACCEPT = [MediaType.ociManifest, MediaType.ociIndex, MediaType.dockerManifest, MediaType.dockerManifestList].join(', ');

/**
 * Signature storage in one registry repository over the distribution API:
 * just the handful of calls signatures need (manifests by tag or digest, small
 * blobs, monolithic uploads, the referrers API with the tag-schema fallback).
 * Everything read is bounded and checked against its digest.
 */
export class RegistryStore implements ArtifactStore {
  readonly description: string;
  private base: string | undefined;
  private authorization: string | undefined;

  constructor(
    readonly domain: string,
    readonly repository: string,
    private readonly options: RegistryOptions = {},
  ) {
    this.description = `docker://${domain}/${repository}`;
  }

  private host(): string {
    return this.domain === 'docker.io' ? 'registry-1.docker.io' : this.domain;
  }

  private isLoopback(): boolean {
    const host = this.domain.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
    return host === 'localhost' || host === '::1' || /^127\./.test(host);
  }

  /**
   * Plain http only where --tls-verify=false or the registry is on loopback, as
   * containers tools allow. A loopback registry is tried over http first: a
   * TLS hello sent to a plain-HTTP server can hang until its header timeout.
   */
  private async baseUrl(): Promise<string> {
    if (this.base) return this.base;
    const schemes = this.isLoopback() ? ['http', 'https'] : this.options.tlsVerify === false ? ['https', 'http'] : ['https'];
    let lastError: unknown;
    for (const scheme of schemes) {
      try {
        await fetch(`${scheme}://${this.host()}/v2/`, { method: 'GET', redirect: 'manual', signal: AbortSignal.timeout(30_000) });
        this.base = `${scheme}://${this.host()}`;
        return this.base;
      } catch (err) {
        lastError = err;
      }
    }
    throw new BerthError('NETWORK_ERROR', `cannot reach registry ${this.domain}: ${(lastError as Error)?.cause ? String(((lastError as Error).cause as Error).message) : String(lastError)}`);
  }

  private async request(method: string, path: string, init: { headers?: Record<string, string>; body?: Buffer; scope?: string } = {}): Promise<Response> {
    const url = path.startsWith('http') ? path : `${await this.baseUrl()}${path}`;
    for (let attempt = 0; attempt < 2; attempt++) {
      const headers: Record<string, string> = { 'User-Agent': 'berth', ...init.headers };
      if (this.authorization) headers.Authorization = this.authorization;
      let response: Response;
      try {
        response = await fetch(url, { method, headers, body: init.body ? new Uint8Array(init.body) : undefined, redirect: 'follow', signal: AbortSignal.timeout(120_000) });
      } catch (err) {
        throw new BerthError('NETWORK_ERROR', `${method} ${url}: ${String(((err as Error).cause as Error | undefined)?.message ?? (err as Error).message)}`);
      }
      if (response.status !== 401 || attempt > 0) return response;
      await response.arrayBuffer().catch(() => undefined);
      await this.authenticate(response.headers.get('www-authenticate') ?? undefined, init.scope ?? `repository:${this.repository}:pull`);
    }
    throw new BerthError('INTERNAL', 'unreachable');
  }

  private credentials(): string | undefined {
    if (this.options.creds) return this.options.creds;
    const files = [this.options.authFile, process.env.REGISTRY_AUTH_FILE, process.env.XDG_RUNTIME_DIR ? join(process.env.XDG_RUNTIME_DIR, 'containers', 'auth.json') : undefined, join(homedir(), '.config', 'containers', 'auth.json'), join(homedir(), '.docker', 'config.json')];
    for (const file of files) {
      if (!file) continue;
      try {
        const doc = JSON.parse(readFileSync(file, 'utf8')) as { auths?: Record<string, { auth?: string }> };
        const entry = doc.auths?.[this.domain] ?? doc.auths?.[`https://${this.domain}`];
        if (entry?.auth) return Buffer.from(entry.auth, 'base64').toString('utf8');
      } catch {
        continue;
      }
    }
    return undefined;
  }

  private async authenticate(header: string | undefined, scope: string): Promise<void> {
    const challenge = parseChallenges(header)[0];
    const creds = this.credentials();
    const basic = creds ? `Basic ${Buffer.from(creds).toString('base64')}` : undefined;
    if (this.options.registryToken) {
      this.authorization = `Bearer ${this.options.registryToken}`;
      return;
    }
    if (!challenge || challenge.scheme === 'basic') {
      if (!basic) throw new BerthError('UNAUTHORIZED', `${this.description}: authentication required`);
      this.authorization = basic;
      return;
    }
    const realm = challenge.params.realm;
    if (challenge.scheme !== 'bearer' || !realm) throw new BerthError('UNAUTHORIZED', `${this.description}: unsupported authentication challenge ${challenge.scheme}`);
    const url = new URL(realm);
    if (challenge.params.service) url.searchParams.set('service', challenge.params.service);
    url.searchParams.append('scope', scope);
    const response = await fetch(url, { headers: basic ? { Authorization: basic } : {}, signal: AbortSignal.timeout(30_000) }).catch((err: Error) => {
      throw new BerthError('NETWORK_ERROR', `token request to ${url.origin}: ${err.message}`);
    });
    if (!response.ok) throw new BerthError('UNAUTHORIZED', `${this.description}: token request failed with HTTP ${response.status}`);
    const body = (await response.json().catch(() => ({}))) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw new BerthError('UNAUTHORIZED', `${this.description}: token server returned no token`);
    this.authorization = `Bearer ${token}`;
  }

  private async failure(response: Response, what: string): Promise<BerthError> {
    const text = (await response.text().catch(() => '')).slice(0, 300);
    let detail = text;
    try {
      const doc = JSON.parse(text) as { errors?: { code?: string; message?: string }[] };
      if (doc.errors?.[0]) detail = `${doc.errors[0].code ?? ''} ${doc.errors[0].message ?? ''}`.trim();
    } catch {
      detail = text.split('\n')[0] ?? '';
    }
    const code = response.status === 401 ? 'UNAUTHORIZED' : response.status === 403 ? 'DENIED' : response.status === 404 ? 'NOT_FOUND' : 'REGISTRY_ERROR';
    return new BerthError(code, `${this.description}: ${what}: HTTP ${response.status}${detail ? ` ${detail}` : ''}`);
  }

  private async boundedBody(response: Response, maxBytes: number, what: string): Promise<Buffer> {
    const declared = Number(response.headers.get('content-length') ?? '0');
    if (declared > maxBytes) throw new BerthError('MANIFEST_INVALID', `${this.description}: ${what} is larger than ${maxBytes} bytes`);
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of response.body ?? []) {
      total += (chunk as Uint8Array).length;
      if (total > maxBytes) throw new BerthError('MANIFEST_INVALID', `${this.description}: ${what} is larger than ${maxBytes} bytes`);
      chunks.push(Buffer.from(chunk as Uint8Array));
    }
    return Buffer.concat(chunks);
  }

  async getManifest(tagOrDigest: string): Promise<StoredManifest | undefined> {
    const response = await this.request('GET', `/v2/${this.repository}/manifests/${tagOrDigest}`, { headers: { Accept: MANIFEST_ACCEPT } });
    if (response.status === 404) {
      await response.arrayBuffer().catch(() => undefined);
      return undefined;
    }
    if (!response.ok) throw await this.failure(response, `manifest ${tagOrDigest}`);
    const bytes = await this.boundedBody(response, MAX_MANIFEST_BYTES, `manifest ${tagOrDigest}`);
    const digest = digestOf(bytes);
    if (isDigest(tagOrDigest) && digest !== tagOrDigest) throw new BerthError('DIGEST_MISMATCH', `${this.description}: manifest ${tagOrDigest} has digest ${digest}`);
    const parsed = parseManifest(bytes, response.headers.get('content-type') ?? undefined);
    return { bytes, mediaType: parsed.mediaType, digest };
  }

  async getSmallBlob(descriptor: Descriptor, maxBytes: number): Promise<Buffer> {
    if (descriptor.size > maxBytes) throw new BerthError('SIGNATURE_INVALID', `blob ${descriptor.digest} declares ${descriptor.size} bytes, more than ${maxBytes}`);
    const response = await this.request('GET', `/v2/${this.repository}/blobs/${descriptor.digest}`);
    if (!response.ok) throw await this.failure(response, `blob ${descriptor.digest}`);
    const bytes = await this.boundedBody(response, maxBytes, `blob ${descriptor.digest}`);
    if (bytes.length !== descriptor.size) throw new BerthError('SIZE_MISMATCH', `${this.description}: blob ${descriptor.digest} has ${bytes.length} bytes, descriptor says ${descriptor.size}`);
    if (digestOf(bytes) !== descriptor.digest) throw new BerthError('DIGEST_MISMATCH', `${this.description}: blob ${descriptor.digest} does not match its digest`);
    return bytes;
  }

  async putBlob(bytes: Buffer, mediaType: string): Promise<Descriptor> {
    const digest = digestOf(bytes);
    const descriptor: Descriptor = { mediaType, digest, size: bytes.length };
    const push = `repository:${this.repository}:pull,push`;
    const head = await this.request('HEAD', `/v2/${this.repository}/blobs/${digest}`, { scope: push });
    if (head.ok) return descriptor;
    const start = await this.request('POST', `/v2/${this.repository}/blobs/uploads/`, { scope: push });
    if (start.status !== 202) throw await this.failure(start, 'starting a blob upload');
    await start.arrayBuffer().catch(() => undefined);
    const location = start.headers.get('location');
    if (!location) throw new BerthError('REGISTRY_ERROR', `${this.description}: upload started without a Location`);
    const url = new URL(location, await this.baseUrl());
    url.searchParams.set('digest', digest);
    const put = await this.request('PUT', url.toString(), { headers: { 'Content-Type': 'application/octet-stream' }, body: bytes, scope: push });
    if (put.status !== 201) throw await this.failure(put, `uploading blob ${digest}`);
    await put.arrayBuffer().catch(() => undefined);
    return descriptor;
  }

  async putManifest(bytes: Buffer, mediaType: string, tag?: string): Promise<Digest> {
    const digest = digestOf(bytes);
    const response = await this.request('PUT', `/v2/${this.repository}/manifests/${tag ?? digest}`, {
      headers: { 'Content-Type': mediaType },
      body: bytes,
      scope: `repository:${this.repository}:pull,push`,
    });
    if (response.status !== 201) throw await this.failure(response, `storing manifest ${tag ?? digest}`);
    await response.arrayBuffer().catch(() => undefined);
    return digest;
  }

  /** The referrers API; registries without it are read through the `sha256-<hex>` tag-schema index. */
  async listReferrers(digest: Digest, artifactType?: string): Promise<Descriptor[]> {
    const query = artifactType ? `?artifactType=${encodeURIComponent(artifactType)}` : '';
    const response = await this.request('GET', `/v2/${this.repository}/referrers/${digest}${query}`, { headers: { Accept: MediaType.ociIndex } });
    let indexBytes: Buffer | undefined;
    if (response.ok && (response.headers.get('content-type') ?? '').startsWith(MediaType.ociIndex)) {
      indexBytes = await this.boundedBody(response, MAX_MANIFEST_BYTES, 'referrers index');
    } else {
      await response.arrayBuffer().catch(() => undefined);
      if (response.status !== 404 && response.status !== 405 && !response.ok) throw await this.failure(response, `referrers of ${digest}`);
      indexBytes = (await this.getManifest(referrersTag(digest)))?.bytes;
    }
    if (!indexBytes) return [];
    const parsed = parseManifest(indexBytes, MediaType.ociIndex);
    if (parsed.kind !== 'index') return [];
    return parsed.index.manifests
      .map((m, i) => parseDescriptor(m, `referrer ${i}`))
      .filter((m) => artifactType === undefined || m.artifactType === artifactType);
  }

  /** Where the referrers API is missing, keep the tag-schema index up to date ourselves (distribution-spec 1.1). */
  async recordReferrer(subject: Digest, descriptor: Descriptor): Promise<void> {
    const probe = await this.request('GET', `/v2/${this.repository}/referrers/${subject}`, { headers: { Accept: MediaType.ociIndex } });
    const hasApi = probe.ok && (probe.headers.get('content-type') ?? '').startsWith(MediaType.ociIndex);
    await probe.arrayBuffer().catch(() => undefined);
    if (hasApi) return;
    const tag = referrersTag(subject);
    const existing = await this.getManifest(tag);
    const manifests: Descriptor[] = [];
    if (existing) {
      const parsed = parseManifest(existing.bytes, existing.mediaType);
      if (parsed.kind === 'index') manifests.push(...parsed.index.manifests);
    }
    if (manifests.some((m) => m.digest === descriptor.digest)) return;
    manifests.push(descriptor);
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests }));
    await this.putManifest(index, MediaType.ociIndex, tag);
  }
}

export function referrersTag(digest: Digest): string {
  return digest.replace(':', '-');
}
