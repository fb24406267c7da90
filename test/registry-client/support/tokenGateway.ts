import { randomBytes } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A small docker-style token server in front of a real registry, for the test's
 * own Bearer flow: GET /token with Basic credentials, POST /token with a
 * refresh token (what `identitytoken` in auth.json holds). Every /v2/ request
 * needs a token whose scopes cover the repository and action.
 */
export class TokenGateway {
  readonly grants: Array<{ grant: 'password' | 'refresh_token'; scopes: string[] }> = [];
  private readonly tokens = new Map<string, Set<string>>();
  private server: Server | undefined;
  port = 0;

  constructor(
    private readonly upstream: { port: number },
    private readonly users: Record<string, string>,
    private readonly refreshTokens: Set<string>,
  ) {}

  get host(): string {
    return `127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', () => resolve()));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', `http://${this.host}`);
    if (url.pathname === '/token') return this.token(req, res, url);
    const needed = this.needed(req.method ?? 'GET', url.pathname);
    const header = req.headers.authorization ?? '';
    const scopes = header.startsWith('Bearer ') ? this.tokens.get(header.slice(7)) : undefined;
    if (!scopes || (needed && !scopes.has(needed))) {
      req.resume();
      const scope = needed ? `,scope="${needed}"` : '';
      res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${this.host}/token",service="gateway"${scope}`, 'content-type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }));
      return;
    }
    const up = httpRequest({ host: '127.0.0.1', port: this.upstream.port, method: req.method, path: req.url, headers: { ...req.headers, authorization: '' } }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  }

  /** The one scope a request needs: pull for reads, push for writes. */
  private needed(method: string, path: string): string | undefined {
    const match = /^\/v2\/(.+?)\/(manifests|blobs|tags)\//.exec(path);
    if (!match) return undefined;
    return `repository:${match[1]}:${method === 'GET' || method === 'HEAD' ? 'pull' : 'push'}`;
  }

  private async token(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    let scopes: string[];
    if (req.method === 'POST') {
      const form = new URLSearchParams(Buffer.concat(chunks).toString());
      if (form.get('grant_type') !== 'refresh_token' || !this.refreshTokens.has(form.get('refresh_token') ?? '')) return deny(res);
      scopes = (form.get('scope') ?? '').split(' ').filter(Boolean);
      this.grants.push({ grant: 'refresh_token', scopes });
    } else {
      const basic = (req.headers.authorization ?? '').replace(/^Basic /, '');
      const [user, pass] = Buffer.from(basic, 'base64').toString().split(':');
      if (!user || this.users[user] !== pass) return deny(res);
      scopes = url.searchParams.getAll('scope');
      this.grants.push({ grant: 'password', scopes });
    }
    const expanded = new Set<string>();
    for (const scope of scopes) {
      const last = scope.lastIndexOf(':');
      for (const action of scope.slice(last + 1).split(',')) expanded.add(`${scope.slice(0, last)}:${action}`);
    }
    const token = randomBytes(16).toString('hex');
    this.tokens.set(token, expanded);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ access_token: token, expires_in: 300 }));
  }
}

function deny(res: ServerResponse): void {
  res.writeHead(401, { 'content-type': 'application/json' });
  res.end('{"details":"invalid credentials"}');
}
