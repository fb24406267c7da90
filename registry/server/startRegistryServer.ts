import { performance } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { isIP } from 'node:net';
import { BerthError } from '../../src/errors/BerthError.js';
import { MAX_MANIFEST_BYTES } from '../../src/oci/manifest.js';
import { allowEverything, type Authenticator } from './auth/access.js';
import { BasicAuthenticator } from './auth/basicAuth.js';
import { HtpasswdFile } from './auth/htpasswd.js';
import { TokenAuthenticator, loadTokenAuthConfig, validateTokenAuthConfig, type TokenAuthConfig } from './auth/tokenAuth.js';
import { dispatch, type Dispatcher } from './http/dispatch.js';
import type { MirrorOptions } from './proxy/pullThroughMirror.js';
import { RegistryStorage } from './storage/registryStorage.js';
import { UploadSessions } from './storage/uploadSessions.js';

export type RegistryAuthOptions =
  | { mode: 'none' }
  | { mode: 'htpasswd'; file: string; realm?: string }
  | { mode: 'token'; configFile?: string; config?: TokenAuthConfig; realm?: string };

export interface RegistryServerOptions {
  /** HOST:PORT to listen on; default 127.0.0.1:0 (a free port). IPv6 as [::1]:PORT. */
  addr?: string;
  /** Storage root (created if missing). */
  root: string;
  auth?: RegistryAuthOptions;
  /** PEM file paths; when given the server speaks HTTPS only. */
  tls?: { cert: string; key: string };
  maxManifestBytes?: number;
  maxUploadBytes?: number;
  chunkMinLength?: number;
  deleteEnabled?: boolean;
  /** Without auth the server refuses non-loopback addresses unless this is set. */
  allowAnonymousRemote?: boolean;
  /** Pull-through mirror of this upstream registry (pushes and deletes are then refused). */
  proxy?: MirrorOptions;
  /** How long close() lets in-flight requests finish before cutting them (ms). */
  shutdownGraceMs?: number;
  log?: (line: string) => void;
  /** Called once per request when its response has ended (an access log, as distribution writes one). */
  onRequestDone?: (entry: RequestLogEntry) => void;
}

export interface RequestLogEntry {
  time: string;
  remote: string;
  method: string;
  path: string;
  status: number;
  /** Bytes sent on the connection for this response, headers included. */
  bytes: number;
  durationMs: number;
}

export interface RunningRegistry {
  /** Base URL such as http://127.0.0.1:40123 */
  url: string;
  /** host:port, as image references spell it (127.0.0.1:40123). */
  host: string;
  port: number;
  root: string;
  close(): Promise<void>;
}

export function parseAddr(addr: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(addr);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new BerthError('USAGE', `invalid --addr "${addr}" (expected HOST:PORT, [IPv6]:PORT)`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

function makeAuthenticator(options: RegistryAuthOptions | undefined): Authenticator {
  if (!options || options.mode === 'none') return { mode: 'none', authorize: async () => allowEverything };
  if (options.mode === 'htpasswd') return new BasicAuthenticator(HtpasswdFile.load(options.file), options.realm ?? 'berth-registry');
  const config = options.config ? validateTokenAuthConfig(options.config) : options.configFile ? loadTokenAuthConfig(options.configFile) : undefined;
  if (!config) throw new BerthError('USAGE', 'token auth needs a config (configFile or config)');
  return new TokenAuthenticator(config, options.realm);
}

/**
 * Start berth's embedded OCI distribution-spec registry. Resolves once it is
 * listening; `close()` stops accepting, lets in-flight requests finish (up to
 * shutdownGraceMs) and then cuts the rest — an upload cut that way stays an
 * unfinished session and never becomes a blob.
 */
export async function startRegistryServer(options: RegistryServerOptions): Promise<RunningRegistry> {
  const { host, port } = parseAddr(options.addr ?? '127.0.0.1:0');
  const auth = makeAuthenticator(options.auth);
  if (auth.mode === 'none' && !isLoopback(host) && !options.allowAnonymousRemote) {
    throw new BerthError('USAGE', `refusing to serve ${host} without authentication; use a loopback address, --htpasswd/--token-auth, or --allow-anonymous-remote`);
  }
  const storage = new RegistryStorage(options.root);
  await storage.init();
  const maxUploadBytes = options.maxUploadBytes ?? Number.POSITIVE_INFINITY;
  const dispatcher: Dispatcher = {
    storage,
    uploads: new UploadSessions(storage, maxUploadBytes),
    limits: {
      maxManifestBytes: options.maxManifestBytes ?? MAX_MANIFEST_BYTES,
      maxUploadBytes,
      chunkMinLength: options.chunkMinLength ?? 0,
      deleteEnabled: options.deleteEnabled ?? true,
    },
    auth,
    log: options.log ?? (() => undefined),
    // Loaded only in mirror mode: the client pulls in undici, which installs itself as the global fetch dispatcher.
    ...(options.proxy ? { mirror: new (await import('./proxy/pullThroughMirror.js')).PullThroughMirror(storage, options.proxy) } : {}),
  };

  let inFlight = 0;
  let drained: (() => void) | undefined;
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    inFlight++;
    const started = performance.now();
    const sentBefore = req.socket.bytesWritten;
    res.once('close', () => {
      inFlight--;
      if (inFlight === 0) drained?.();
      options.onRequestDone?.({
        time: new Date().toISOString(),
        remote: req.socket.remoteAddress ?? '',
        method: req.method ?? '',
        path: (req.url ?? '').split('?')[0]!,
        status: res.statusCode,
        bytes: req.socket.bytesWritten - sentBefore,
        durationMs: Math.round((performance.now() - started) * 10) / 10,
      });
    });
    void dispatch(dispatcher, req, res);
  };
  let server: Server;
  if (options.tls) {
    let cert: Buffer;
    let key: Buffer;
    try {
      cert = readFileSync(options.tls.cert);
      key = readFileSync(options.tls.key);
    } catch (err) {
      throw new BerthError('USAGE', `cannot read TLS certificate or key: ${(err as Error).message.split('\n')[0]}`);
    }
    server = createHttpsServer({ cert, key }, onRequest);
  } else {
    server = createHttpServer(onRequest);
  }
  // Layer uploads and downloads can take far longer than Node's 5-minute default.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new BerthError(err.code === 'EADDRINUSE' ? 'ALREADY_EXISTS' : 'IO_ERROR', `cannot listen on ${host}:${port}: ${err.code ?? err.message}`)),
    );
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  const hostPart = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
      const cut = setTimeout(() => server.closeAllConnections(), options.shutdownGraceMs ?? 10_000);
      cut.unref();
      if (inFlight === 0) server.closeAllConnections();
      else drained = () => server.closeAllConnections();
    });
    return closing;
  };

  return { url: `${options.tls ? 'https' : 'http'}://${hostPart}:${bound}`, host: `${hostPart}:${bound}`, port: bound, root: options.root, close };
}
