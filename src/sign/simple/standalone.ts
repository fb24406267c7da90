import { BerthError } from '../../errors/BerthError.js';
import { digestOf } from '../../oci/digest.js';
import { parseManifest } from '../../oci/manifest.js';
import { parseDockerReference } from '../../reference/dockerReference.js';
import { checkIdentity } from '../identity.js';
import { ATOMIC_SIGNATURE_TYPE, makePayload, parsePayload, type SimpleSigningPayload } from '../payload.js';
import { gpgSign, gpgVerify, type GpgSignOptions } from './gpg.js';

/**
 * skopeo's standalone-sign / standalone-verify: a simple signature of a
 * manifest file for a docker reference, without any image storage. The
 * signature is exactly what lookaside storage holds.
 */
export async function standaloneSign(manifest: Buffer, dockerReference: string, gpg: GpgSignOptions): Promise<Buffer> {
  parseDockerReference(dockerReference);
  parseManifest(manifest);
  const payload = makePayload(ATOMIC_SIGNATURE_TYPE, dockerReference, digestOf(manifest), { creator: 'berth', timestamp: Math.floor(Date.now() / 1000) });
  return gpgSign(payload, gpg);
}

export async function standaloneVerify(manifest: Buffer, dockerReference: string, signature: Buffer, trustedKeys: Buffer[]): Promise<{ payload: SimpleSigningPayload; fingerprint: string }> {
  const expected = parseDockerReference(dockerReference);
  const { payload: bytes, fingerprint } = await gpgVerify(signature, trustedKeys);
  const payload = parsePayload(bytes, ATOMIC_SIGNATURE_TYPE);
  const digest = digestOf(manifest);
  if (payload.critical.image['docker-manifest-digest'] !== digest) {
    throw new BerthError('SIGNATURE_INVALID', `signature is for digest ${payload.critical.image['docker-manifest-digest']}, not the manifest's ${digest}`);
  }
  const problem = checkIdentity({ type: 'exactReference', dockerReference }, payload.critical.identity['docker-reference'], expected);
  if (problem) throw new BerthError('SIGNATURE_INVALID', problem);
  return { payload, fingerprint };
}
