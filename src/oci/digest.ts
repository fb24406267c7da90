import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { BerthError } from '../errors/BerthError.js';

/** A validated content digest such as `sha256:<64 hex>`. */
export type Digest = string & { readonly __brand: 'Digest' };
export type DigestAlgorithm = 'sha256' | 'sha512';

const HEX_LENGTH: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };

/** Check a digest string strictly (lower-case hex, exact length); throws INVALID_DIGEST otherwise. */
export function parseDigest(value: unknown): Digest {
  if (typeof value !== 'string') throw new BerthError('INVALID_DIGEST', `digest must be a string, got ${typeof value}`);
  const colon = value.indexOf(':');
  const algorithm = value.slice(0, colon) as DigestAlgorithm;
  const hex = value.slice(colon + 1);
  const want = HEX_LENGTH[algorithm];
  if (colon < 0 || want === undefined) {
    throw new BerthError('INVALID_DIGEST', `unsupported digest algorithm in "${truncate(value)}"`);
  }
  if (hex.length !== want || !/^[0-9a-f]+$/.test(hex)) {
    throw new BerthError('INVALID_DIGEST', `malformed ${algorithm} digest "${truncate(value)}"`);
  }
  return value as Digest;
}

export function isDigest(value: unknown): value is Digest {
  try {
    parseDigest(value);
    return true;
  } catch {
    return false;
  }
}

export function digestAlgorithm(digest: Digest): DigestAlgorithm {
  return digest.slice(0, digest.indexOf(':')) as DigestAlgorithm;
}

export function digestHex(digest: Digest): string {
  return digest.slice(digest.indexOf(':') + 1);
}

export function digestOf(data: Uint8Array | string, algorithm: DigestAlgorithm = 'sha256'): Digest {
  return `${algorithm}:${createHash(algorithm).update(data).digest('hex')}` as Digest;
}

/**
 * A pass-through stream that hashes and counts what flows through it and, when
 * an expected digest/size is given, fails the stream at the end (or as soon as
 * the size is exceeded) instead of letting unverified bytes be trusted.
 */
export class DigestingStream extends Transform {
  readonly algorithm: DigestAlgorithm;
  private readonly hash: Hash;
  private readonly expectedDigest: Digest | undefined;
  private readonly expectedSize: number | undefined;
  bytes = 0;
  private result: Digest | undefined;

  constructor(expected: { digest?: Digest; size?: number; algorithm?: DigestAlgorithm } = {}) {
    super();
    this.expectedDigest = expected.digest;
    this.expectedSize = expected.size !== undefined && expected.size >= 0 ? expected.size : undefined;
    this.algorithm = expected.digest ? digestAlgorithm(expected.digest) : expected.algorithm ?? 'sha256';
    this.hash = createHash(this.algorithm);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.expectedSize !== undefined && this.bytes > this.expectedSize) {
      done(new BerthError('SIZE_MISMATCH', `blob ${this.expectedDigest ?? ''} is larger than its declared size ${this.expectedSize}`.replace('  ', ' ')));
      return;
    }
    this.hash.update(chunk);
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    this.result = `${this.algorithm}:${this.hash.digest('hex')}` as Digest;
    if (this.expectedSize !== undefined && this.bytes !== this.expectedSize) {
      done(new BerthError('SIZE_MISMATCH', `blob ${this.expectedDigest ?? this.result} has ${this.bytes} bytes, expected ${this.expectedSize}`));
      return;
    }
    if (this.expectedDigest !== undefined && this.result !== this.expectedDigest) {
      done(new BerthError('DIGEST_MISMATCH', `content digest ${this.result} does not match expected ${this.expectedDigest}`));
      return;
    }
    done();
  }

  /** The digest of everything that passed; only valid after the stream finished. */
  digest(): Digest {
    if (!this.result) throw new BerthError('INTERNAL', 'digest requested before the stream ended');
    return this.result;
  }
}

function truncate(value: string): string {
  return value.length > 80 ? `${value.slice(0, 77)}...` : value;
}
