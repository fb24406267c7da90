import { BerthError } from '../../src/errors/BerthError.js';
import { discard, readLimitedBuffer } from './body.js';
import { dispatcherFor } from './dispatcher.js';
import { request } from './http.js';

/** Redirects a file server may send (static hosting often redirects), as Go's client follows them for skopeo. */
const MAX_REDIRECTS = 5;

/**
 * A small file over http(s) from a server that is not a registry (lookaside signature storage): verified TLS,
 * up to 5 redirects to http/https URLs, at most `maxBytes`; undefined when the server says 404.
 */
export async function getSmallFile(first: URL, maxBytes: number, what: string): Promise<Buffer | undefined> {
  let url = first;
  for (let redirects = 0; ; redirects++) {
    const response = await request(url, { method: 'GET', dispatcher: dispatcherFor(true, undefined), headersTimeout: 60_000, bodyTimeout: 60_000 }).catch((err: Error) => {
      throw new BerthError('NETWORK_ERROR', `reading ${what} ${url.href}: ${err.message}`);
    });
    if (response.statusCode >= 200 && response.statusCode < 300) return readLimitedBuffer(response.body, maxBytes, `${what} ${url.href}`);
    await discard(response.body);
    if (response.statusCode === 404) return undefined;
    const location = response.headers.location;
    if ([301, 302, 303, 307, 308].includes(response.statusCode) && typeof location === 'string' && redirects < MAX_REDIRECTS) {
      const next = new URL(location, url);
      if (next.protocol !== 'http:' && next.protocol !== 'https:') throw new BerthError('REGISTRY_ERROR', `reading ${what} ${first.href}: redirected to ${next.protocol} URL`);
      url = next;
      continue;
    }
    throw new BerthError('REGISTRY_ERROR', `reading ${what} ${url.href}: HTTP ${response.statusCode}`);
  }
}
