import { randomBytes, scryptSync } from 'node:crypto';
import { createRequire } from 'node:module';
import { BerthError } from '../../errors/BerthError.js';

// tweetnacl only opens and seals key files: a copy or a verify that holds no private key never loads it.
const secretbox = (): typeof import('tweetnacl').secretbox => (createRequire(import.meta.url)('tweetnacl') as typeof import('tweetnacl')).secretbox;

/**
 * The JSON envelope cosign (via go-securesystemslib "encrypted") wraps a
 * PKCS#8 private key in: a key derived with scrypt from the passphrase seals
 * the DER with NaCl secretbox (XSalsa20-Poly1305). Field names and base64
 * encodings are exactly cosign's so keys move both ways.
 */
export interface CosignKeyEnvelope {
  kdf: { name: 'scrypt'; params: { N: number; r: number; p: number }; salt: string };
  cipher: { name: 'nacl/secretbox'; nonce: string };
  ciphertext: string;
}

const COSIGN_SCRYPT = { N: 32768, r: 8, p: 1 } as const;
const SALT_BYTES = 32;
const KEY_BYTES = 32;
/** Bounds on what an untrusted envelope may ask scrypt to do (memory is 128·N·r bytes). */
const MAX_SCRYPT_N = 1 << 20;
const MAX_SCRYPT_R = 32;
const MAX_SCRYPT_P = 16;

function deriveKey(passphrase: Buffer, salt: Buffer, params: { N: number; r: number; p: number }): Uint8Array {
  const maxmem = 128 * params.N * params.r * 2 + 1024 * 1024;
  return scryptSync(passphrase, salt, KEY_BYTES, { N: params.N, r: params.r, p: params.p, maxmem });
}

export function sealPrivateKey(pkcs8Der: Buffer, passphrase: Buffer, params: { N: number; r: number; p: number } = COSIGN_SCRYPT): CosignKeyEnvelope {
  const salt = randomBytes(SALT_BYTES);
  const box = secretbox();
  const nonce = randomBytes(box.nonceLength);
  const key = deriveKey(passphrase, salt, params);
  const sealed = box(new Uint8Array(pkcs8Der), new Uint8Array(nonce), key);
  return {
    kdf: { name: 'scrypt', params: { N: params.N, r: params.r, p: params.p }, salt: salt.toString('base64') },
    cipher: { name: 'nacl/secretbox', nonce: nonce.toString('base64') },
    ciphertext: Buffer.from(sealed).toString('base64'),
  };
}

function invalidKey(why: string): BerthError {
  return new BerthError('KEY_INVALID', `encrypted private key: ${why}`);
}

function base64Field(value: unknown, field: string): Buffer {
  if (typeof value !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) throw invalidKey(`${field} is not base64`);
  return Buffer.from(value, 'base64');
}

function positiveInt(value: unknown, field: string, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1 || value > max) throw invalidKey(`unsupported scrypt parameter ${field}=${JSON.stringify(value)}`);
  return value;
}

/** Open an envelope (JSON bytes); a wrong passphrase and a tampered key both fail authentication. */
export function openPrivateKey(envelopeJson: Buffer, passphrase: Buffer): Buffer {
  let doc: Record<string, any>;
  try {
    doc = JSON.parse(envelopeJson.toString('utf8')) as Record<string, any>;
  } catch {
    throw invalidKey('not a JSON envelope');
  }
  if (!doc || typeof doc !== 'object') throw invalidKey('not a JSON envelope');
  if (doc.kdf?.name !== 'scrypt') throw invalidKey(`unsupported kdf ${JSON.stringify(doc.kdf?.name)}`);
  if (doc.cipher?.name !== 'nacl/secretbox') throw invalidKey(`unsupported cipher ${JSON.stringify(doc.cipher?.name)}`);
  const N = positiveInt(doc.kdf.params?.N, 'N', MAX_SCRYPT_N);
  if ((N & (N - 1)) !== 0 || N < 2) throw invalidKey(`unsupported scrypt parameter N=${N} (must be a power of two)`);
  const r = positiveInt(doc.kdf.params?.r, 'r', MAX_SCRYPT_R);
  const p = positiveInt(doc.kdf.params?.p, 'p', MAX_SCRYPT_P);
  const salt = base64Field(doc.kdf.salt, 'salt');
  const nonce = base64Field(doc.cipher.nonce, 'nonce');
  const box = secretbox();
  if (nonce.length !== box.nonceLength) throw invalidKey(`nonce must be ${box.nonceLength} bytes`);
  const ciphertext = base64Field(doc.ciphertext, 'ciphertext');
  const key = deriveKey(passphrase, salt, { N, r, p });
  const opened = box.open(new Uint8Array(ciphertext), new Uint8Array(nonce), key);
  if (!opened) throw new BerthError('KEY_INVALID', 'cannot decrypt private key: wrong passphrase or corrupted key file');
  return Buffer.from(opened);
}
