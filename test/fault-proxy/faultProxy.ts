import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Transform, type TransformCallback } from 'node:stream';

/**
 * A reverse proxy on 127.0.0.1 in front of a real registry that injects the
 * faults real registries produce but cannot be asked for on demand.
 */
export type Fault =
  /** Answer with this status (and optional Retry-After) without asking upstream. */
  | { kind: 'status'; status: number; retryAfter?: string }
  /** Forward, then cut the connection after `afterBytes` bytes of the response body. */
  | { kind: 'reset'; afterBytes: number }
  /** Forward with the full Content-Length, but end the response cleanly after `afterBytes` bytes. */
  | { kind: 'truncate'; afterBytes: number }
  /** Forward with one byte flipped at `at` (same length, wrong digest). */
  | { kind: 'corrupt'; at: number }
  /** Forward the response body at about `bytesPerSecond`. */
  | { kind: 'slow'; bytesPerSecond: number }
  /** Cut the connection while the request body is still being received (an upload dying midway). */
  | { kind: 'reset-request'; afterBytes: number };

export interface Rule {
  method?: string;
  /** Matched against the request path (query included). */
  path: RegExp;
  fault: Fault;
  /** How many matching requests get the fault; afterwards they pass. Infinity for always. */
  times: number;
}

export interface LoggedRequest {
  method: string;
  path: string;
  range: string | undefined;
  at: number;
  fault: Fault['kind'] | undefined;
}

export class FaultProxy {
  readonly log: LoggedRequest[] = [];
  /** TCP connections clients opened to the proxy. */
  connections = 0;
  private rules: Rule[] = [];
  private readonly sockets = new Set<Socket>();
  private server: Server | undefined;
  port = 0;

  constructor(private readonly upstream: { host: string; port: number }) {}

  get host(): string {
    return `127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => this.handle(req, res));
    this.server.on('connection', (socket) => {
      this.connections++;
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', () => resolve()));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  set(rules: Rule[]): void {
    this.rules = rules.map((r) => ({ ...r }));
    this.log.length = 0;
  }

  private take(req: IncomingMessage): Fault | undefined {
    for (const rule of this.rules) {
      if (rule.times <= 0) continue;
      if (rule.method && rule.method !== req.method) continue;
      if (!rule.path.test(req.url ?? '')) continue;
      rule.times--;
      return rule.fault;
    }
    return undefined;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const fault = this.take(req);
    this.log.push({ method: req.method ?? '', path: req.url ?? '', range: req.headers.range, at: Date.now(), fault: fault?.kind });
    if (fault?.kind === 'status') {
      req.resume();
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (fault.retryAfter !== undefined) headers['retry-after'] = fault.retryAfter;
      res.writeHead(fault.status, headers);
      res.end(JSON.stringify({ errors: [{ code: 'UNKNOWN', message: `injected ${fault.status}` }] }));
      return;
    }
    const upstream = httpRequest({ host: this.upstream.host, port: this.upstream.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      this.respond(up, res, fault);
    });
    upstream.on('error', () => res.destroy());
    if (fault?.kind === 'reset-request') {
      let seen = 0;
      req.on('data', (chunk: Buffer) => {
        seen += chunk.length;
        if (seen > fault.afterBytes) {
          req.socket.destroy();
          upstream.destroy();
        }
      });
    }
    req.pipe(upstream);
  }

  private respond(up: IncomingMessage, res: ServerResponse, fault: Fault | undefined): void {
    res.writeHead(up.statusCode ?? 502, up.headers);
    if (!fault || fault.kind === 'status' || fault.kind === 'reset-request') {
      up.pipe(res);
      return;
    }
    let sent = 0;
    const shaper = new Transform({
      transform(chunk: Buffer, _enc, done: TransformCallback) {
        const start = sent;
        sent += chunk.length;
        if (fault.kind === 'corrupt' && fault.at >= start && fault.at < sent) {
          const copy = Buffer.from(chunk);
          copy[fault.at - start] = copy[fault.at - start]! ^ 0xff;
          done(null, copy);
          return;
        }
        if ((fault.kind === 'reset' || fault.kind === 'truncate') && sent > fault.afterBytes) {
          const keep = chunk.subarray(0, Math.max(0, fault.afterBytes - start));
          this.push(keep);
          up.destroy();
          if (fault.kind === 'reset') {
            // Let the partial bytes leave, then reset the connection (RST, not FIN).
            setImmediate(() => res.socket?.resetAndDestroy());
          } else {
            setImmediate(() => res.socket?.end());
          }
          done();
          return;
        }
        if (fault.kind === 'slow') {
          setTimeout(() => done(null, chunk), (chunk.length / fault.bytesPerSecond) * 1000);
          return;
        }
        done(null, chunk);
      },
    });
    up.pipe(shaper).pipe(res);
  }
}
