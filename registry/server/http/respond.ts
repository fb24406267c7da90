import type { IncomingMessage, ServerResponse } from 'node:http';
import { RegistryError, errorBody } from './registryError.js';

export const API_VERSION_HEADER = { 'Docker-Distribution-API-Version': 'registry/2.0' } as const;

/** Send a response; HEAD requests get the same headers and no body. */
export function send(req: IncomingMessage, res: ServerResponse, status: number, headers: Record<string, string | number>, body?: string | Buffer): void {
  const length = body === undefined ? 0 : Buffer.byteLength(body);
  if (headers['Content-Length'] === undefined) headers['Content-Length'] = length;
  res.writeHead(status, { ...API_VERSION_HEADER, ...headers });
  if (req.method === 'HEAD' || body === undefined) res.end();
  else res.end(body);
}

export function sendJson(req: IncomingMessage, res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  send(req, res, status, { 'Content-Type': 'application/json', ...headers }, JSON.stringify(value));
}

export function sendError(req: IncomingMessage, res: ServerResponse, err: RegistryError): void {
  send(req, res, err.status, { 'Content-Type': 'application/json', ...err.headers }, errorBody(err));
}

/** Read a small request body (manifests) into memory, refusing it as soon as it passes `max` bytes. */
export async function readLimited(req: IncomingMessage, max: number, what: string): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > max) throw new RegistryError(413, 'SIZE_INVALID', `${what} of ${declared} bytes exceeds the limit of ${max} bytes`);
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > max) throw new RegistryError(413, 'SIZE_INVALID', `${what} exceeds the limit of ${max} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** `n`/`last` pagination shared by the tags list and the catalog, with the spec's Link header. */
export function paginate(items: string[], query: URLSearchParams, path: string): { page: string[]; link?: string } {
  const last = query.get('last');
  let rest = last !== null ? items.filter((item) => item > last) : items;
  const nText = query.get('n');
  if (nText === null) return { page: rest };
  if (!/^\d{1,9}$/.test(nText)) throw new RegistryError(400, 'UNSUPPORTED', `n must be a non-negative integer, got "${nText.slice(0, 20)}"`);
  const n = Number(nText);
  const page = rest.slice(0, n);
  rest = rest.slice(n);
  if (rest.length === 0 || page.length === 0) return { page };
  const next = new URLSearchParams({ n: String(n), last: page[page.length - 1] as string });
  return { page, link: `<${path}?${next.toString()}>; rel="next"` };
}
