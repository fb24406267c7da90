import { request } from 'node:http';

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/**
 * One HTTP request with the path sent byte for byte (fetch would normalise
 * `..` and `%2e` away before the server ever saw them).
 */
export function rawRequest(url: string, method: string, path: string, body?: Buffer | string, headers: Record<string, string> = {}): Promise<RawResponse> {
  const base = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: base.hostname, port: base.port, method, path, headers: body !== undefined ? { 'Content-Length': String(Buffer.byteLength(body)), ...headers } : headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

export function errorCodesOf(res: RawResponse): string[] {
  try {
    const doc = JSON.parse(res.body.toString('utf8')) as { errors?: { code: string }[] };
    return (doc.errors ?? []).map((e) => e.code);
  } catch {
    return [];
  }
}
