import type { Readable } from 'node:stream';
import { setImmediate as socketReleased } from 'node:timers/promises';
import { BerthError } from '../../src/errors/BerthError.js';

// undici hands a keep-alive socket back to its pool one event-loop turn after the response ended (a server may
// close it despite keep-alive). A request sent sooner, as the next step of a client usually is (the ping, then the
// manifest, then the config), opens another connection: on a real registry another TCP and TLS handshake, two
// round trips. So a body read to its end or thrown away returns only once the socket is free.

/** Read a response body as bytes, refusing (and abandoning the stream) past `max` bytes. */
export async function readLimitedBuffer(body: Readable & { dump?: () => Promise<void> }, max: number, what = 'response'): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > max) {
      body.destroy();
      throw new BerthError('REGISTRY_ERROR', `${what} is larger than ${max} bytes`);
    }
    chunks.push(chunk);
  }
  await socketReleased();
  return Buffer.concat(chunks, total);
}

export async function readLimited(body: Readable, max: number): Promise<string> {
  return (await readLimitedBuffer(body, max)).toString('utf8');
}

/** Throw a body away without reading much of it, so the connection can be reused or closed. */
export async function discard(body: Readable & { dump?: (opts?: { limit: number }) => Promise<void> }): Promise<void> {
  try {
    if (typeof body.dump === 'function') await body.dump({ limit: 64 * 1024 });
    else body.destroy();
  } catch {
    // a body we discard cannot fail anything
  }
  await socketReleased();
}
