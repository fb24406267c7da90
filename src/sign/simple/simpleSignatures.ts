import { BerthError } from '../../errors/BerthError.js';
import type { Digest } from '../../oci/digest.js';
import type { DockerReference } from '../../reference/dockerReference.js';
import { checkIdentity, type IdentityRule } from '../identity.js';
import { ATOMIC_SIGNATURE_TYPE, makePayload, parsePayload, type SimpleSigningPayload } from '../payload.js';
import { lookasideFor, type RegistriesD } from '../policy/registriesD.js';
import { gpgSign, gpgVerify, type GpgSignOptions } from './gpg.js';
import { appendLookasideSignatures, readLookasideSignatures } from './lookaside.js';

/** Where an image's OpenPGP signatures are: a lookaside base URL and the repository path under it. */
export interface LookasideLocation {
  base: string;
  repositoryPath: string;
}

export function lookasideLocation(config: RegistriesD, ref: DockerReference | undefined, write: boolean): LookasideLocation {
  if (!ref) throw new BerthError('UNSUPPORTED', 'OpenPGP simple signatures live in registries.d lookaside storage, which only docker:// images have (as in skopeo)');
  const base = lookasideFor(config, ref, write);
  if (!base) {
    const where = config.sources.length > 0 ? config.sources.join(', ') : 'registries.d';
    throw new BerthError('USAGE', `no lookaside${write ? ' (or lookaside-staging)' : ''} storage configured for ${ref.domain}/${ref.path} in ${where}`);
  }
  return { base, repositoryPath: ref.path };
}

/** Sign with gpg and append to lookaside storage; returns whether a new signature file was written. */
export async function simpleSign(location: LookasideLocation, digest: Digest, identity: string, gpg: GpgSignOptions, optional?: Record<string, unknown>): Promise<boolean> {
  const payload = makePayload(ATOMIC_SIGNATURE_TYPE, identity, digest, { creator: 'berth', timestamp: Math.floor(Date.now() / 1000), ...optional });
  const signature = await gpgSign(payload, gpg);
  return (await appendLookasideSignatures(location.base, location.repositoryPath, digest, [signature])) > 0;
}

export interface SimpleVerifyOptions {
  trustedKeys: Buffer[];
  identity: IdentityRule;
  imageReference?: DockerReference;
}

export interface VerifiedSimpleSignature {
  payload: SimpleSigningPayload;
  fingerprint: string;
  location: string;
}

/** Accept when one lookaside signature is a good OpenPGP signature by a trusted key over a payload for this digest and identity. */
export async function simpleVerify(location: LookasideLocation, digest: Digest, options: SimpleVerifyOptions): Promise<VerifiedSimpleSignature[]> {
  const signatures = await readLookasideSignatures(location.base, location.repositoryPath, digest);
  if (signatures.length === 0) throw new BerthError('SIGNATURE_INVALID', `no OpenPGP signatures for ${location.repositoryPath}@${digest} in ${location.base}`);
  const reasons: string[] = [];
  const verified: VerifiedSimpleSignature[] = [];
  for (const [i, signature] of signatures.entries()) {
    const where = `signature-${i + 1}`;
    try {
      const { payload: bytes, fingerprint } = await gpgVerify(signature, options.trustedKeys);
      const payload = parsePayload(bytes, ATOMIC_SIGNATURE_TYPE);
      const signed = payload.critical.image['docker-manifest-digest'];
      if (signed !== digest) throw new BerthError('SIGNATURE_INVALID', `signature is for digest ${signed}, not ${digest}`);
      const problem = checkIdentity(options.identity, payload.critical.identity['docker-reference'], options.imageReference);
      if (problem) throw new BerthError('SIGNATURE_INVALID', problem);
      verified.push({ payload, fingerprint, location: where });
    } catch (err) {
      if (!(err instanceof BerthError) || err.code === 'NOT_FOUND') throw err;
      reasons.push(`${where}: ${err.message}`);
    }
  }
  if (verified.length === 0) throw new BerthError('SIGNATURE_INVALID', `no valid OpenPGP signature for ${location.repositoryPath}@${digest}: ${reasons.join('; ')}`);
  return verified;
}
