import type { RegistryOptions } from '../../../registry/client/index.js';
import { BerthError } from '../../errors/BerthError.js';
import type { Digest } from '../../oci/digest.js';
import type { ImageReference } from '../../transports/types.js';
import { cosignVerify } from '../cosign/cosignSignatures.js';
import { loadPublicKey } from '../keys/keys.js';
import { lookasideLocation, simpleVerify } from '../simple/simpleSignatures.js';
import type { SignatureStorage } from '../../transports/signatures.js';
import { signatureStorageOf } from '../signatureStorage.js';
import { defaultPolicyPath, loadPolicy, type Policy, type PolicyRequirement } from './policy.js';
import { loadRegistriesD, type RegistriesD } from './registriesD.js';

/** An image as the policy sees it: where its signatures are, its policy scopes, and the manifest digest being admitted. */
export type PolicySubject = SignatureStorage & { digest: Digest };

export interface PolicyDecision {
  /** The scope whose requirements applied ("" = transport default, "default" = global default). */
  scope: string;
  /** One line per satisfied requirement. */
  satisfied: string[];
}

function requirementsFor(policy: Policy, subject: PolicySubject): { scope: string; requirements: PolicyRequirement[] } {
  const scopes = policy.transports.get(subject.transport);
  if (scopes) {
    for (const scope of subject.policyScopes) {
      const found = scopes.get(scope);
      if (found) return { scope, requirements: found };
    }
    const transportDefault = scopes.get('');
    if (transportDefault) return { scope: '', requirements: transportDefault };
  }
  return { scope: 'default', requirements: policy.defaultRequirements };
}

/**
 * Decide whether `subject` may be used. Every requirement of the matching
 * scope must hold; the first that does not ends evaluation with POLICY_DENIED
 * and its reason. This is what copy, sync, builds and run call before trusting
 * an image.
 */
export async function evaluatePolicy(policy: Policy, subject: PolicySubject, registriesD: RegistriesD): Promise<PolicyDecision> {
  const { scope, requirements } = requirementsFor(policy, subject);
  const where = `${subject.description}@${subject.digest} (policy ${policy.source}, scope ${scope === '' ? `"" of ${subject.transport}` : scope})`;
  const satisfied: string[] = [];
  for (const requirement of requirements) {
    try {
      satisfied.push(await checkRequirement(requirement, subject, registriesD));
    } catch (err) {
      if (err instanceof BerthError && (err.code === 'NETWORK_ERROR' || err.code === 'UNAUTHORIZED' || err.code === 'INTERNAL')) throw err;
      throw new BerthError('POLICY_DENIED', `${where} is not trusted: ${(err as Error).message}`, { cause: err });
    }
  }
  return { scope, satisfied };
}

async function checkRequirement(requirement: PolicyRequirement, subject: PolicySubject, registriesD: RegistriesD): Promise<string> {
  switch (requirement.type) {
    case 'insecureAcceptAnything':
      return 'insecureAcceptAnything';
    case 'reject':
      throw new BerthError('POLICY_DENIED', 'the policy rejects this image');
    case 'signedBy': {
      if (!subject.dockerReference) throw new BerthError('POLICY_DENIED', `signedBy requires OpenPGP signatures, which the ${subject.transport} transport cannot carry`);
      const location = lookasideLocation(registriesD, subject.dockerReference, false);
      const verified = await simpleVerify(location, subject.digest, { trustedKeys: requirement.keys, identity: requirement.identity, imageReference: subject.dockerReference });
      return `signedBy: ${verified.length} OpenPGP signature(s) by ${verified.map((v) => v.fingerprint).join(', ')}`;
    }
    case 'sigstoreSigned': {
      if (!subject.artifacts) throw new BerthError('POLICY_DENIED', `sigstoreSigned requires signatures, which the ${subject.transport} transport cannot carry`);
      const keys = requirement.publicKeysPem.map((pem, i) => loadPublicKey(pem, `sigstoreSigned key ${i + 1}`));
      const verified = await cosignVerify(subject.artifacts, subject.digest, {
        keys,
        identity: requirement.identity,
        ...(subject.dockerReference ? { imageReference: subject.dockerReference } : {}),
      });
      return `sigstoreSigned: ${verified.length} signature(s)`;
    }
  }
}

/** Build a policy subject from a transport reference (what the copy pipeline holds). */
export async function policySubjectFor(ref: ImageReference, digest: Digest, registry?: RegistryOptions): Promise<PolicySubject> {
  return { ...(await signatureStorageOf(ref, registry)), digest };
}

export interface EnforcePolicyOptions {
  /** containers-policy.json to use; the default lookup otherwise. */
  policyPath?: string;
  /** registries.d directory; the default lookup otherwise. */
  registriesDir?: string;
  /** Registry settings for reading signatures (the copy's source options). */
  registry?: RegistryOptions;
}

/** Load the policy and registries.d and decide about one image: what copy, sync, builds and run call. */
export async function enforcePolicy(ref: ImageReference, digest: Digest, options: EnforcePolicyOptions = {}): Promise<PolicyDecision> {
  const policy = loadPolicy(options.policyPath ?? defaultPolicyPath());
  return evaluatePolicy(policy, await policySubjectFor(ref, digest, options.registry), loadRegistriesD(options.registriesDir));
}
