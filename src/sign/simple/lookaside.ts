import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BerthError } from '../../errors/BerthError.js';
import { digestHex, type Digest } from '../../oci/digest.js';

/** Signatures per image are few; this bounds what a hostile lookaside server can make berth read. */
const MAX_SIGNATURES = 64;
const MAX_SIGNATURE_BYTES = 4 * 1024 * 1024;

/**
 * The lookaside layout skopeo uses: BASE/REPOSITORY-PATH@sha256=HEX/signature-N,
 * N counting from 1 with no gaps. The repository path is without the registry host.
 */
export function signatureUrl(base: string, repositoryPath: string, digest: Digest, index: number): URL {
  const url = new URL(base.endsWith('/') ? base.slice(0, -1) : base);
  const algorithm = digest.slice(0, digest.indexOf(':'));
  url.pathname = `${url.pathname.replace(/\/$/, '')}/${repositoryPath}@${algorithm}=${digestHex(digest)}/signature-${index}`;
  return url;
}

async function readOne(url: URL): Promise<Buffer | undefined> {
  if (url.protocol === 'file:') {
    try {
      const bytes = await readFile(fileURLToPath(url));
      if (bytes.length > MAX_SIGNATURE_BYTES) throw new BerthError('SIGNATURE_INVALID', `${url.href} is larger than ${MAX_SIGNATURE_BYTES} bytes`);
      return bytes;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }
  if (url.protocol === 'http:' || url.protocol === 'https:') {
    // The registry client (undici) loads only when a lookaside is on the network.
    const { getSmallFile } = await import('../../../registry/client/index.js');
    return getSmallFile(url, MAX_SIGNATURE_BYTES, 'signature');
  }
  throw new BerthError('UNSUPPORTED', `lookaside URL scheme ${url.protocol} is not supported (file:, http:, https:)`);
}

/** Every signature stored for a digest, in order. */
export async function readLookasideSignatures(base: string, repositoryPath: string, digest: Digest): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (let i = 1; i <= MAX_SIGNATURES; i++) {
    const bytes = await readOne(signatureUrl(base, repositoryPath, digest, i));
    if (!bytes) return out;
    out.push(bytes);
  }
  return out;
}

/** Append signatures that are not stored yet (byte-identical ones are skipped). Only file: URLs can be written. */
export async function appendLookasideSignatures(base: string, repositoryPath: string, digest: Digest, signatures: Buffer[]): Promise<number> {
  const first = signatureUrl(base, repositoryPath, digest, 1);
  if (first.protocol !== 'file:') throw new BerthError('UNSUPPORTED', `cannot write signatures to ${base}: only file:// lookaside (or lookaside-staging) storage is writable`);
  const existing = await readLookasideSignatures(base, repositoryPath, digest);
  let added = 0;
  for (const signature of signatures) {
    if (existing.some((e) => e.equals(signature))) continue;
    if (existing.length >= MAX_SIGNATURES) throw new BerthError('UNSUPPORTED', `more than ${MAX_SIGNATURES} signatures for ${digest}`);
    const path = fileURLToPath(signatureUrl(base, repositoryPath, digest, existing.length + 1));
    await mkdir(dirname(path), { recursive: true });
    const temp = join(dirname(path), `.signature-${randomBytes(6).toString('hex')}.tmp`);
    await writeFile(temp, signature);
    await rename(temp, path);
    existing.push(signature);
    added++;
  }
  return added;
}
