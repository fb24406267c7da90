import type { Dispatcher } from 'undici';
import { request } from './http.js';
import { BerthError } from '../../src/errors/BerthError.js';
import type { Credentials } from '../../src/credentials/types.js';
import { mergeScopes, parseChallenges, type Challenge } from './challenge.js';
import { networkError, responseError } from './errors.js';
import { readLimited } from './body.js';

interface CachedToken {
  header: string;
  expiresAt: number;
}

const MAX_TOKEN_RESPONSE = 1024 * 1024;
const DEFAULT_TOKEN_LIFETIME_S = 60;

/**
 * Answers a registry's auth challenges for one host: nothing, Basic, or Bearer
 * tokens fetched from the challenge's realm, cached per merged scope set
 * until shortly before they expire. Refresh tokens returned by the token
 * server replace a password for later token requests.
 */
export class Authenticator {
  private challenge: Challenge | undefined;
  private readonly tokens = new Map<string, CachedToken>();
  private readonly pending = new Map<string, Promise<CachedToken>>();
  private refreshToken: string | undefined;

  constructor(
    private readonly host: string,
    private readonly credentials: () => Promise<Credentials | undefined>,
    private readonly dispatcher: Dispatcher,
    private readonly userAgent: string,
  ) {}

  /** The Authorization header for a request needing `scopes`, or undefined when none is known to be needed yet. */
  async header(scopes: string[]): Promise<string | undefined> {
    const creds = await this.credentials();
    if (creds?.kind === 'bearer') return `Bearer ${creds.token}`;
    if (!this.challenge) return undefined;
    if (this.challenge.scheme === 'basic') return creds?.kind === 'basic' ? basicHeader(creds.username, creds.password) : undefined;
    if (this.challenge.scheme !== 'bearer') return undefined;
    const merged = mergeScopes(scopes);
    const key = merged.join(' ');
    const cached = this.tokens.get(key);
    if (cached && cached.expiresAt > Date.now()) return cached.header;
    let fetching = this.pending.get(key);
    if (!fetching) {
      fetching = this.fetchToken(merged).finally(() => this.pending.delete(key));
      this.pending.set(key, fetching);
    }
    const token = await fetching;
    this.tokens.set(key, token);
    return token.header;
  }

  /**
   * Learn from a 401. Returns the scopes to retry with when a retry can
   * succeed (a new scheme, a wider scope, an expired token), else undefined.
   */
  async unauthorized(wwwAuthenticate: string | string[] | undefined, scopes: string[], sentHeader: string | undefined): Promise<string[] | undefined> {
    const creds = await this.credentials();
    if (creds?.kind === 'bearer') return undefined;
    const challenge = parseChallenges(wwwAuthenticate)[0];
    if (!challenge) return undefined;
    this.challenge = challenge;
    if (challenge.scheme === 'basic') return creds?.kind === 'basic' && sentHeader === undefined ? scopes : undefined;
    if (challenge.scheme !== 'bearer') return undefined;
    const wanted = challenge.params.scope ? mergeScopes([...scopes, ...challenge.params.scope.split(' ')]) : mergeScopes(scopes);
    this.tokens.delete(wanted.join(' '));
    return wanted;
  }

  /** Prime from the ping's challenge so the first real request already carries auth. */
  learn(wwwAuthenticate: string | string[] | undefined): void {
    const challenge = parseChallenges(wwwAuthenticate)[0];
    if (challenge) this.challenge = challenge;
  }

  private async fetchToken(scopes: string[]): Promise<CachedToken> {
    const params = this.challenge!.params;
    const realm = params.realm;
    if (!realm || !/^https?:\/\//.test(realm)) throw new BerthError('REGISTRY_ERROR', `registry ${this.host}: bearer challenge without a usable realm`);
    const creds = await this.credentials();
    const refresh = this.refreshToken ?? (creds?.kind === 'identityToken' ? creds.token : undefined);
    const url = new URL(realm);
    const headers: Record<string, string> = { 'user-agent': this.userAgent };
    let method: 'GET' | 'POST' = 'GET';
    let body: string | undefined;
    if (refresh) {
      method = 'POST';
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refresh, client_id: 'berth' });
      if (params.service) form.set('service', params.service);
      if (scopes.length) form.set('scope', scopes.join(' '));
      body = form.toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    } else {
      if (params.service) url.searchParams.set('service', params.service);
      for (const scope of scopes) url.searchParams.append('scope', scope);
      if (creds?.kind === 'basic') {
        headers.authorization = basicHeader(creds.username, creds.password);
        url.searchParams.set('account', creds.username);
      }
    }
    let status: number;
    let text: string;
    try {
      const res = await request(url, { method, headers, body, dispatcher: this.dispatcher });
      status = res.statusCode;
      text = await readLimited(res.body, MAX_TOKEN_RESPONSE);
    } catch (err) {
      throw networkError(this.host, `token request to ${url.origin}`, err);
    }
    if (status === 401 || status === 403) {
      throw new BerthError('UNAUTHORIZED', `registry ${this.host}: the token server at ${url.origin} refused ${creds ? 'the credentials' : 'anonymous access'} (HTTP ${status})`);
    }
    if (status !== 200) throw responseError(this.host, `token request to ${url.origin}`, status, text);
    let doc: { token?: unknown; access_token?: unknown; expires_in?: unknown; refresh_token?: unknown };
    try {
      doc = JSON.parse(text) as typeof doc;
    } catch {
      throw new BerthError('REGISTRY_ERROR', `registry ${this.host}: the token server answered with something that is not JSON`);
    }
    const token = typeof doc.token === 'string' && doc.token ? doc.token : typeof doc.access_token === 'string' ? doc.access_token : '';
    if (!token) throw new BerthError('REGISTRY_ERROR', `registry ${this.host}: the token server answered without a token`);
    if (typeof doc.refresh_token === 'string' && doc.refresh_token) this.refreshToken = doc.refresh_token;
    const lifetime = typeof doc.expires_in === 'number' && doc.expires_in > 0 ? doc.expires_in : DEFAULT_TOKEN_LIFETIME_S;
    // Renew a little early: a token that expires in flight makes a long upload fail at its end.
    return { header: `Bearer ${token}`, expiresAt: Date.now() + Math.max(1, lifetime - 10) * 1000 };
  }
}

function basicHeader(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
}
