import { createHash } from 'node:crypto';
import { createWriteStream, mkdtempSync, utimesSync } from 'node:fs';
import { join, posix } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BerthError } from '../../../src/errors/BerthError.js';
import { isGitUrl } from './gitSource.js';

const ALGORITHMS = ['sha256', 'sha384', 'sha512'] as const;

/** An ADD source fetched over HTTP(S): where it was saved, its digests, and the name it goes by. */
export interface DownloadedSource {
  url: string;
  file: string;
  /** Hex digests of the body by algorithm (what --checksum may name). */
  digests: Record<(typeof ALGORITHMS)[number], string>;
  /** The file name ADD gives it in a destination directory: the last segment of the URL's path. */
  name: string;
}

/** An ADD source fetched over HTTP(S) (a URL of a git repository is a git source instead). */
export const isUrl = (source: string) => /^https?:\/\//.test(source) && !isGitUrl(source);

/**
 * Fetch an ADD URL once per build into `scratch`, as Docker does it: the body saved with mode 0600 and the mtime of
 * its Last-Modified header (else the epoch), never unpacked.
 */
export async function downloadSource(url: string, scratch: string): Promise<DownloadedSource> {
  let response: Response;
  try {
    response = await fetch(url, { redirect: 'follow' });
  } catch (err) {
    throw new BerthError('NETWORK_ERROR', `ADD ${url}: ${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}`);
  }
  if (!response.ok || !response.body) throw new BerthError('NOT_FOUND', `ADD ${url}: the server answered ${response.status} ${response.statusText}`);
  const name = posix.basename(new URL(response.url || url).pathname);
  if (name === '' || name === '/') throw new BerthError('USAGE', `ADD ${url}: the URL names no file; give a destination file name`);
  const file = join(mkdtempSync(join(scratch, '.url-')), 'body');
  const hashes = ALGORITHMS.map((algorithm) => createHash(algorithm));
  await pipeline(
    Readable.fromWeb(response.body as Parameters<typeof Readable.fromWeb>[0]),
    new Transform({
      transform(chunk: Buffer, _encoding, done) {
        for (const hash of hashes) hash.update(chunk);
        done(null, chunk);
      },
    }),
    createWriteStream(file, { mode: 0o600 }),
  );
  const modified = Date.parse(response.headers.get('last-modified') ?? '');
  const mtime = Number.isNaN(modified) ? new Date(0) : new Date(modified);
  utimesSync(file, mtime, mtime);
  const [sha256, sha384, sha512] = hashes.map((hash) => hash.digest('hex')) as [string, string, string];
  return { url, file, digests: { sha256, sha384, sha512 }, name };
}

/** `ADD --checksum=ALGORITHM:HEX`: the body fetched must have it. */
export function checkDownload(got: DownloadedSource, checksum: string | undefined): DownloadedSource {
  if (checksum === undefined) return got;
  const [algorithm, expected] = checksum.split(':') as [keyof DownloadedSource['digests'], string];
  if (got.digests[algorithm] !== expected) throw new BerthError('DIGEST_MISMATCH', `ADD ${got.url}: the content does not match --checksum=${checksum}`);
  return got;
}
