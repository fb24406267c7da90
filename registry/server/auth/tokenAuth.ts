import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BerthError } from '../../../src/errors/BerthError.js';
import { RegistryError, errorBody } from '../http/registryError.js';
import { readLimited } from '../http/respond.js';
import { isRepositoryName } from '../storage/names.js';
import { basicCredentials, scopeString, type Access, type Action, type Authenticator, type Grant } from './access.js';
import { HtpasswdFile, parseHtpasswd } from './htpasswd.js';

/**
 * The token-auth config file (JSON):
 *   { "users": { "alice": "<bcrypt hash>" },          // and/or "htpasswd": "/path/to/htpasswd"
 *     "access": [ { "account": "alice", "repository": "team/*", "actions": ["pull", "push", "delete"] },
 *                 { "account": "anonymous", "repository": "public/*", "actions": ["pull"] },
 *                 { "account": "*", "catalog": true } ] }
 * "anonymous" matches callers without credentials, "*" any signed-in user;
 * `*` in a repository pattern matches any run of characters, slashes included.
 */
export interface TokenAuthConfig {
  users?: Record<string, string>;
  htpasswd?: string;
  access: AccessRule[];
  service?: string;
  tokenTtlSeconds?: number;
}

export interface AccessRule {
  account: string;
  repository?: string;
  actions?: Action[];
  catalog?: boolean;
}

const ACTIONS: readonly Action[] = ['pull', 'push', 'delete', '*'];

export function loadTokenAuthConfig(path: string): TokenAuthConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new BerthError('USAGE', `cannot read token auth config ${path}: ${(err as Error).message.split('\n')[0]}`);
  }
  return validateTokenAuthConfig(raw, path);
}

export function validateTokenAuthConfig(raw: unknown, source = 'token auth config'): TokenAuthConfig {
  const bad = (why: string) => new BerthError('USAGE', `${source}: ${why}`);
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw bad('must be a JSON object');
  const doc = raw as Record<string, unknown>;
  if (!Array.isArray(doc.access)) throw bad('"access" must be a list of rules');
  for (const [i, rule] of (doc.access as unknown[]).entries()) {
    const r = rule as Record<string, unknown>;
    if (!r || typeof r !== 'object' || typeof r.account !== 'string') throw bad(`access rule ${i} needs an "account" string`);
    if (r.catalog !== undefined && typeof r.catalog !== 'boolean') throw bad(`access rule ${i}: "catalog" must be true or false`);
    if (r.repository !== undefined) {
      if (typeof r.repository !== 'string') throw bad(`access rule ${i}: "repository" must be a string pattern`);
      if (!Array.isArray(r.actions) || !r.actions.every((a) => ACTIONS.includes(a as Action))) throw bad(`access rule ${i}: "actions" must list pull, push, delete or *`);
    }
  }
  if (doc.users !== undefined) {
    if (!doc.users || typeof doc.users !== 'object' || Array.isArray(doc.users)) throw bad('"users" must map names to bcrypt hashes');
    const lines = Object.entries(doc.users as Record<string, unknown>).map(([u, h]) => `${u}:${String(h)}`);
    parseHtpasswd(lines.join('\n'), `${source} users`);
  }
  if (doc.htpasswd !== undefined && typeof doc.htpasswd !== 'string') throw bad('"htpasswd" must be a file path');
  return doc as unknown as TokenAuthConfig;
}

interface TokenClaims {
  iss: string;
  sub: string;
  aud: string;
  exp: number;
  nbf: number;
  iat: number;
  jti: string;
  access: Access[];
}

/**
 * A built-in token issuer (the docker token flow): the registry answers 401
 * with a Bearer challenge pointing at its own /token endpoint, which checks
 * Basic credentials against the config and signs (HS256, node:crypto) a short
 * JWT carrying exactly the rights the rules give for the scopes asked.
 */
export class TokenAuthenticator implements Authenticator {
  readonly mode = 'token' as const;
  readonly service: string;
  private readonly secret = randomBytes(32);
  private readonly users: HtpasswdFile;
  private readonly ttl: number;

  constructor(private readonly config: TokenAuthConfig, private readonly realm?: string) {
    this.service = config.service ?? 'berth-registry';
    this.ttl = config.tokenTtlSeconds ?? 300;
    const entries = new Map<string, string>(Object.entries(config.users ?? {}));
    if (config.htpasswd) for (const [u, h] of parseHtpasswd(readFileSync(config.htpasswd, 'utf8'), config.htpasswd)) entries.set(u, h);
    this.users = new HtpasswdFile(entries);
  }

  async authorize(req: IncomingMessage, needed: Access[]): Promise<Grant> {
    const header = req.headers.authorization;
    const token = header && /^bearer /i.test(header) ? header.slice(7).trim() : undefined;
    const claims = token ? this.verify(token) : undefined;
    if (!claims) throw this.challenge(req, needed, token ? 'invalid_token' : undefined);
    const grant = grantFrom(claims);
    for (const access of needed) {
      for (const action of access.actions) {
        if (!grant.allows(access.type, access.name, action)) throw this.challenge(req, needed, 'insufficient_scope');
      }
    }
    return grant;
  }

  /**
   * GET /token?service=…&scope=… with optional Basic credentials (the docker
   * token flow), or POST /token with an OAuth2 password grant form
   * (grant_type=password&username=…&password=…&scope=…), which containerd-style
   * clients try first. Without credentials the caller is "anonymous".
   */
  async handleTokenRequest(req: IncomingMessage, res: ServerResponse, query: URLSearchParams): Promise<void> {
    let creds = basicCredentials(req);
    let scopes = query.getAll('scope');
    if (req.method === 'POST') {
      const form = new URLSearchParams((await readLimited(req, 64 * 1024, 'token request')).toString('utf8'));
      if (form.get('grant_type') !== 'password') {
        res.writeHead(400, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ error: 'unsupported_grant_type', error_description: 'only the password grant is supported' }));
        return;
      }
      creds = { user: form.get('username') ?? '', password: form.get('password') ?? '' };
      scopes = form.getAll('scope');
    }
    let account: string | undefined;
    if (creds) {
      if (!(await this.users.verify(creds.user, creds.password))) {
        const err = new RegistryError(401, 'UNAUTHORIZED', 'invalid username or password');
        res.writeHead(401, { 'Content-Type': 'application/json', 'WWW-Authenticate': `Basic realm="${this.service}"` });
        res.end(errorBody(err));
        return;
      }
      account = creds.user;
    }
    const requested = scopes.flatMap((s) => s.split(' ')).filter(Boolean).map(parseScope).filter((a): a is Access => a !== undefined);
    const granted: Access[] = [];
    for (const want of requested) {
      const actions = want.actions.filter((action) => this.ruleAllows(account, want, action));
      if (actions.length > 0) granted.push({ ...want, actions });
    }
    const now = Math.floor(Date.now() / 1000);
    const claims: TokenClaims = { iss: this.service, sub: account ?? '', aud: this.service, iat: now, nbf: now - 5, exp: now + this.ttl, jti: randomUUID(), access: granted };
    const token = this.sign(claims);
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
    res.end(JSON.stringify({ token, access_token: token, expires_in: this.ttl, issued_at: new Date(now * 1000).toISOString() }));
  }

  private ruleAllows(account: string | undefined, want: Access, action: Action): boolean {
    return this.config.access.some((rule) => {
      const who = rule.account === account || (rule.account === 'anonymous' && account === undefined) || (rule.account === '*' && account !== undefined);
      if (!who) return false;
      if (want.type === 'registry') return want.name === 'catalog' && rule.catalog === true;
      if (rule.repository === undefined || !globMatches(rule.repository, want.name)) return false;
      const actions = rule.actions ?? [];
      return actions.includes('*') || (action !== '*' && actions.includes(action));
    });
  }

  private challenge(req: IncomingMessage, needed: Access[], error: string | undefined): RegistryError {
    const realm = this.realm ?? `${isTls(req) ? 'https' : 'http'}://${req.headers.host ?? '127.0.0.1'}/token`;
    const parts = [`realm="${realm}"`, `service="${this.service}"`];
    if (needed.length > 0) parts.push(`scope="${needed.map(scopeString).join(' ')}"`);
    if (error) parts.push(`error="${error}"`);
    const insufficient = error === 'insufficient_scope';
    return new RegistryError(401, 'UNAUTHORIZED', insufficient ? 'the token does not grant the access this request needs' : 'authentication required', needed.length ? needed.map((a) => ({ Type: a.type, Name: a.name, Action: a.actions.join(',') })) : undefined, {
      'WWW-Authenticate': `Bearer ${parts.join(',')}`,
    });
  }

  private sign(claims: TokenClaims): string {
    const head = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
    const body = base64url(JSON.stringify(claims));
    return `${head}.${body}.${this.mac(`${head}.${body}`).toString('base64url')}`;
  }

  private verify(token: string): TokenClaims | undefined {
    const parts = token.split('.');
    if (parts.length !== 3) return undefined;
    const [head, body, signature] = parts as [string, string, string];
    const expected = this.mac(`${head}.${body}`);
    const given = Buffer.from(signature, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    try {
      const claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as TokenClaims;
      const now = Math.floor(Date.now() / 1000);
      if (claims.aud !== this.service || claims.exp < now || claims.nbf > now || !Array.isArray(claims.access)) return undefined;
      return claims;
    } catch {
      return undefined;
    }
  }

  private mac(data: string): Buffer {
    return createHmac('sha256', this.secret).update(data).digest();
  }
}

function grantFrom(claims: TokenClaims): Grant {
  return {
    account: claims.sub || undefined,
    allows: (type, name, action) => claims.access.some((a) => a.type === type && a.name === name && (a.actions.includes(action) || a.actions.includes('*'))),
  };
}

/** `repository:NAME:pull,push` → Access; unknown types and malformed names are dropped, not granted. */
function parseScope(scope: string): Access | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first < 0 || last === first) return undefined;
  const type = scope.slice(0, first);
  const name = scope.slice(first + 1, last);
  const actions = scope.slice(last + 1).split(',').filter((a): a is Action => ACTIONS.includes(a as Action));
  if (type === 'repository' && isRepositoryName(name)) return { type, name, actions };
  if (type === 'registry' && name === 'catalog') return { type, name, actions };
  return undefined;
}

function globMatches(pattern: string, name: string): boolean {
  const source = pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*');
  return new RegExp(`^${source}$`).test(name);
}

function base64url(text: string): string {
  return Buffer.from(text).toString('base64url');
}

function isTls(req: IncomingMessage): boolean {
  return (req.socket as { encrypted?: boolean }).encrypted === true;
}
