/**
 * `berth/sign`: keys, cosign and simple (OpenPGP) signatures, and containers-policy.json. To sign: resolve
 * the image (`resolveTarget`), pick its digests (`digestsToSign`) and `cosignSign` each; to carry signatures
 * along a copy, pass `carrySignatures()` as copyImage's `afterCommit`; to enforce a policy on what comes in,
 * pass `policyAdmission()` as its `admit`.
 */
export { generateCosignKeyPair, loadPrivateKey, loadPrivateKeyFile, loadPublicKey, loadPublicKeyFile, publicKeyPem, type GeneratedKeyPair } from './keys/keys.js';
export type { PassphraseOptions } from './keys/passphrase.js';
export { resolveTarget, digestsToSign, type SignTarget, type TargetOptions } from './target.js';
export { cosignSign, cosignVerify, type CosignSignOptions, type CosignVerifyOptions, type VerifiedSignature } from './cosign/cosignSignatures.js';
export type { StorageMode } from './cosign/attachments.js';
export type { ArtifactStore } from '../transports/signatures.js';
export type { IdentityRule } from './identity.js';
export type { SimpleSigningPayload } from './payload.js';
export { simpleSign, simpleVerify, lookasideLocation, type LookasideLocation, type SimpleVerifyOptions, type VerifiedSimpleSignature } from './simple/simpleSignatures.js';
export { standaloneSign, standaloneVerify } from './simple/standalone.js';
export type { GpgSignOptions } from './simple/gpg.js';
export { copySignatures, type CopySignaturesOptions, type CopySignaturesResult } from './copySignatures.js';
export { carrySignatures, carrySignaturesBeforeCommit, signaturesHaveAPlace } from './carrySignatures.js';
export { policyAdmission, type AdmissionOptions } from './policy/admission.js';
export { loadPolicy, parsePolicy, type Policy, type PolicyRequirement } from './policy/policy.js';
export { enforcePolicy, evaluatePolicy, type PolicySubject, type PolicyDecision, type EnforcePolicyOptions } from './policy/evaluatePolicy.js';
export { loadRegistriesD, type RegistriesD } from './policy/registriesD.js';
