import type { KeyObject } from 'node:crypto';
import { BerthError } from '../../errors/BerthError.js';
import type { Digest } from '../../oci/digest.js';
import type { DockerReference } from '../../reference/dockerReference.js';
import { checkIdentity, type IdentityRule } from '../identity.js';
import { signBytes, verifyBytes } from '../keys/keys.js';
import { COSIGN_SIGNATURE_TYPE, makePayload, parsePayload, type SimpleSigningPayload } from '../payload.js';
import type { ArtifactStore } from '../../transports/signatures.js';
import { attachCosignSignature, readCosignSignatures, type StorageMode } from './attachments.js';

export interface CosignSignOptions {
  key: KeyObject;
  /** The docker reference written into the payload (critical.identity.docker-reference). */
  identity: string;
  annotations?: Record<string, string>;
  mode?: StorageMode;
}

/** Sign one manifest digest and attach the signature; returns whether a new signature was stored. */
export async function cosignSign(store: ArtifactStore, subject: { digest: Digest; mediaType: string; size: number }, options: CosignSignOptions): Promise<{ digest: Digest; added: boolean; payload: Buffer; signature: string }> {
  const payload = makePayload(COSIGN_SIGNATURE_TYPE, options.identity, subject.digest, options.annotations);
  const signature = signBytes(options.key, payload).toString('base64');
  const { added } = await attachCosignSignature(store, subject, payload, signature, options.mode ?? 'legacy');
  return { digest: subject.digest, added, payload, signature };
}

export interface CosignVerifyOptions {
  keys: KeyObject[];
  identity: IdentityRule;
  /** The reference the image was reached by, for the match* identity rules. */
  imageReference?: DockerReference;
  /** Every `optional` annotation given here must be present with this value. */
  annotations?: Record<string, string>;
}

export interface VerifiedSignature {
  payload: SimpleSigningPayload;
  location: string;
}

/**
 * Check every cosign signature attached to `digest`; succeed when at least one
 * verifies with one of the keys, covers exactly this digest and satisfies the
 * identity rule. Otherwise fail with every reason, one per signature.
 */
export async function cosignVerify(store: ArtifactStore, digest: Digest, options: CosignVerifyOptions): Promise<VerifiedSignature[]> {
  const { signatures, rejected } = await readCosignSignatures(store, digest);
  const reasons = rejected.map((r) => `${r.location}: ${r.reason}`);
  const verified: VerifiedSignature[] = [];
  for (const candidate of signatures) {
    const reason = checkCandidate(candidate.payload, candidate.signature, digest, options);
    if (typeof reason === 'string') reasons.push(`${candidate.location}: ${reason}`);
    else verified.push({ payload: reason, location: candidate.location });
  }
  if (verified.length === 0) {
    if (signatures.length === 0 && rejected.length === 0) throw new BerthError('SIGNATURE_INVALID', `no cosign signatures found for ${store.description}@${digest}`);
    throw new BerthError('SIGNATURE_INVALID', `no valid signature for ${store.description}@${digest}: ${reasons.join('; ')}`);
  }
  return verified;
}

function checkCandidate(payloadBytes: Buffer, signatureB64: string, digest: Digest, options: CosignVerifyOptions): SimpleSigningPayload | string {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(signatureB64)) return 'signature annotation is not base64';
  const signature = Buffer.from(signatureB64, 'base64');
  if (!options.keys.some((key) => verifyBytes(key, payloadBytes, signature))) return 'signature does not verify with the given key (payload edited, or signed by another key)';
  let payload: SimpleSigningPayload;
  try {
    payload = parsePayload(payloadBytes, COSIGN_SIGNATURE_TYPE);
  } catch (err) {
    return (err as Error).message;
  }
  const signedDigest = payload.critical.image['docker-manifest-digest'];
  if (signedDigest !== digest) return `signature is for digest ${signedDigest}, not ${digest}`;
  const identityProblem = checkIdentity(options.identity, payload.critical.identity['docker-reference'], options.imageReference);
  if (identityProblem) return identityProblem;
  for (const [key, value] of Object.entries(options.annotations ?? {})) {
    if (payload.optional?.[key] !== value) return `annotation ${key}=${value} is not in the signed payload`;
  }
  return payload;
}
