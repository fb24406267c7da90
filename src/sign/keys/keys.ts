import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { BerthError } from '../../errors/BerthError.js';
import { openPrivateKey, sealPrivateKey } from './cosignKeyEnvelope.js';
import { obtainPassphrase, type PassphraseOptions } from './passphrase.js';
import { formatPem, parsePem } from './pem.js';

const SIGSTORE_PRIVATE_KEY_PEM = 'ENCRYPTED SIGSTORE PRIVATE KEY';
const LEGACY_COSIGN_PRIVATE_KEY_PEM = 'ENCRYPTED COSIGN PRIVATE KEY';

/** A cosign-format key pair as files hold it. */
export interface GeneratedKeyPair {
  privateKeyPem: string;
  publicKeyPem: string;
}

/** ECDSA P-256, PKCS#8 sealed with scrypt + secretbox, as `cosign generate-key-pair` writes it. */
export function generateCosignKeyPair(passphrase: Buffer): GeneratedKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
  const envelope = sealPrivateKey(pkcs8, passphrase);
  return {
    privateKeyPem: formatPem(SIGSTORE_PRIVATE_KEY_PEM, Buffer.from(JSON.stringify(envelope))),
    publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
  };
}

function wrapKeyError(what: string, err: unknown): BerthError {
  if (err instanceof BerthError) return err;
  const reason = (err as Error)?.message?.split('\n')[0] ?? String(err);
  return new BerthError('KEY_INVALID', `${what}: ${reason}`);
}

/**
 * Load a private key from PEM text: cosign/sigstore encrypted keys (asking for
 * the passphrase), or plain PKCS#8 / SEC1 / PKCS#1 PEM, or encrypted PKCS#8.
 */
export async function loadPrivateKey(pem: string, what: string, passphrase: PassphraseOptions): Promise<KeyObject> {
  const blocks = parsePem(pem, what);
  const block = blocks.find((b) => b.type.endsWith('PRIVATE KEY'));
  if (!block) throw new BerthError('KEY_INVALID', `${what}: no private key block (found ${blocks.map((b) => b.type).join(', ')})`);
  try {
    if (block.type === SIGSTORE_PRIVATE_KEY_PEM || block.type === LEGACY_COSIGN_PRIVATE_KEY_PEM) {
      const der = openPrivateKey(block.body, await obtainPassphrase(what, passphrase));
      return checkSupported(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }), what);
    }
    if (block.type === 'ENCRYPTED PRIVATE KEY') {
      const secret = await obtainPassphrase(what, passphrase);
      return checkSupported(createPrivateKey({ key: formatPem(block.type, block.body), format: 'pem', passphrase: secret }), what);
    }
    return checkSupported(createPrivateKey({ key: formatPem(block.type, block.body), format: 'pem' }), what);
  } catch (err) {
    throw wrapKeyError(what, err);
  }
}

/** Load a public key: SPKI `PUBLIC KEY`, `RSA PUBLIC KEY`, or the key of an X.509 certificate. */
export function loadPublicKey(pem: string, what: string): KeyObject {
  const blocks = parsePem(pem, what);
  try {
    const pub = blocks.find((b) => b.type === 'PUBLIC KEY' || b.type === 'RSA PUBLIC KEY');
    if (pub) return checkSupported(createPublicKey({ key: formatPem(pub.type, pub.body), format: 'pem' }), what);
    const cert = blocks.find((b) => b.type === 'CERTIFICATE');
    if (cert) return checkSupported(new X509Certificate(cert.body).publicKey, what);
  } catch (err) {
    throw wrapKeyError(what, err);
  }
  throw new BerthError('KEY_INVALID', `${what}: no public key or certificate block (found ${blocks.map((b) => b.type).join(', ')})`);
}

export async function loadPrivateKeyFile(path: string, passphrase: PassphraseOptions): Promise<KeyObject> {
  return loadPrivateKey(readKeyFile(path), `key ${path}`, passphrase);
}

export function loadPublicKeyFile(path: string): KeyObject {
  return loadPublicKey(readKeyFile(path), `key ${path}`);
}

function readKeyFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new BerthError(code === 'ENOENT' ? 'NOT_FOUND' : 'KEY_INVALID', `cannot read key ${path}: ${code ?? (err as Error).message}`);
  }
}

function checkSupported(key: KeyObject, what: string): KeyObject {
  hashFor(key, what);
  return key;
}

/**
 * The digest sigstore pairs with each key type: SHA-256 for P-256 and RSA,
 * SHA-384/512 for the larger curves; Ed25519 signs the message itself.
 */
function hashFor(key: KeyObject, what = 'key'): string | null {
  switch (key.asymmetricKeyType) {
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      if (curve === 'prime256v1') return 'sha256';
      if (curve === 'secp384r1') return 'sha384';
      if (curve === 'secp521r1') return 'sha512';
      throw new BerthError('KEY_INVALID', `${what}: unsupported elliptic curve ${curve ?? 'unknown'}`);
    }
    case 'rsa':
      if ((key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) throw new BerthError('KEY_INVALID', `${what}: RSA keys shorter than 2048 bits are refused`);
      return 'sha256';
    case 'ed25519':
      return null;
    default:
      throw new BerthError('KEY_INVALID', `${what}: unsupported key type ${key.asymmetricKeyType ?? 'unknown'}`);
  }
}

/** Sign bytes the way cosign does with this key type (ECDSA signatures are ASN.1 DER). */
export function signBytes(key: KeyObject, data: Buffer): Buffer {
  return sign(hashFor(key), data, key);
}

/** Verify; never throws on malformed signatures, only answers false. */
export function verifyBytes(key: KeyObject, data: Buffer, signature: Buffer): boolean {
  try {
    return verify(hashFor(key), data, key, signature);
  } catch {
    return false;
  }
}

function publicKeyOf(key: KeyObject): KeyObject {
  return key.type === 'private' ? createPublicKey(key) : key;
}

export function publicKeyPem(key: KeyObject): string {
  return publicKeyOf(key).export({ format: 'pem', type: 'spki' }).toString();
}
