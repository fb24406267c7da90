import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BerthError } from '../../errors/BerthError.js';
import { digestAlgorithm, digestHex, digestOf, parseDigest, type Digest } from '../../oci/digest.js';
import { writeFileAtomic } from '../files/atomicWrite.js';
import { readBounded } from '../files/readBounded.js';
import type { SimpleSignatureStore } from '../signatures.js';
import { manifestFile } from './dirFormat.js';

/** Signatures per image are few; this bounds what a hostile directory can make berth read. */
const MAX_SIGNATURES = 64;
const MAX_SIGNATURE_BYTES = 4 * 1024 * 1024;

/**
 * OpenPGP simple signatures in a `dir:` image, as skopeo keeps them: `signature-N` for the top-level
 * manifest and `HEX.signature-N` for an instance of an index, N counting from 1 with no gaps.
 */
export class DirSignatures implements SimpleSignatureStore {
  constructor(private readonly dir: string) {}

  private async path(digest: Digest, index: number): Promise<string> {
    const top = digestOf(await readFile(manifestFile(this.dir)), digestAlgorithm(digest));
    return join(this.dir, top === digest ? `signature-${index}` : `${digestHex(parseDigest(digest))}.signature-${index}`);
  }

  async read(digest: Digest): Promise<Buffer[]> {
    const out: Buffer[] = [];
    for (let i = 1; i <= MAX_SIGNATURES; i++) {
      try {
        out.push(await readBounded(await this.path(digest, i), MAX_SIGNATURE_BYTES));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return out;
        throw err;
      }
    }
    return out;
  }

  async append(digest: Digest, signatures: Buffer[]): Promise<number> {
    const existing = await this.read(digest);
    let added = 0;
    for (const signature of signatures) {
      if (existing.some((e) => e.equals(signature))) continue;
      if (existing.length >= MAX_SIGNATURES) throw new BerthError('UNSUPPORTED', `more than ${MAX_SIGNATURES} signatures for ${digest}`);
      await writeFileAtomic(await this.path(digest, existing.length + 1), signature);
      existing.push(signature);
      added++;
    }
    return added;
  }
}
