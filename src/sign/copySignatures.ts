import type { KeyObject } from 'node:crypto';
import type { RegistryOptions } from '../../registry/client/index.js';
import { BerthError } from '../errors/BerthError.js';
import type { Digest } from '../oci/digest.js';
import { formatDockerReference, type DockerReference } from '../reference/dockerReference.js';
import type { ImageReference } from '../transports/types.js';
import { attachCosignSignature, readCosignSignatures, SIGNATURE_ANNOTATION, type StorageMode } from './cosign/attachments.js';
import { cosignSign } from './cosign/cosignSignatures.js';
import { loadRegistriesD, lookasideFor, useSigstoreAttachmentsFor, type RegistriesD } from './policy/registriesD.js';
import { appendLookasideSignatures, readLookasideSignatures } from './simple/lookaside.js';
import type { ArtifactStore, SignatureStorage } from '../transports/signatures.js';
import { signatureStorageOf } from './signatureStorage.js';

export interface CopySignaturesOptions {
  /** registries.d configuration (lookaside locations); read from the default directory when absent. */
  registriesD?: RegistriesD;
  sourceRegistry?: RegistryOptions;
  destinationRegistry?: RegistryOptions;
  /** Carry the source's signatures (default true; false is --remove-signatures). */
  carryExisting?: boolean;
  /** Sign every copied digest at the destination too (copy --sign-by-key). */
  signBy?: { key: KeyObject; identity?: string; mode?: StorageMode };
}

export interface CopySignaturesResult {
  /** cosign signatures newly stored at the destination (.sig layers and referrers). */
  cosign: number;
  /** OpenPGP signatures newly written to the destination's lookaside storage (or beside a dir: image). */
  lookaside: number;
  /** Signatures made on the way (signBy). */
  signed: number;
  /** Source signature layers that were not carried because they are malformed, with the reason. */
  skipped: string[];
}

/**
 * Carry the signatures of `digests` (the manifests the copy stored unchanged:
 * the top-level one and any instances) from `src` to `dst`: cosign `.sig`
 * attachments and OCI 1.1 signature referrers (stored the same way they were
 * found, merged with what the destination has, never duplicated) and OpenPGP
 * lookaside signatures (registries.d). Call it after the destination image is
 * committed. Fails when the source has signatures the destination cannot
 * store; the caller offers --remove-signatures for that case, as skopeo does.
 */
export async function copySignatures(src: ImageReference, dst: ImageReference, digests: Digest | Digest[], options: CopySignaturesOptions = {}, writing?: SignatureStorage): Promise<CopySignaturesResult> {
  const list = [digests].flat();
  const result: CopySignaturesResult = { cosign: 0, lookaside: 0, signed: 0, skipped: [] };
  const committed = await signatureStorageOf(dst, options.destinationRegistry);
  // Destinations that hold signatures inside what they commit got them before the commit (`writing`).
  if (committed.artifactsWhileWriting && !writing) return result;
  const to = writing ?? committed;
  const from = await signatureStorageOf(src, options.sourceRegistry);
  let registriesD = options.registriesD;
  const config = (): RegistriesD => (registriesD ??= loadRegistriesD());

  const carry = options.carryExisting !== false;
  const attachmentsOff = (side: SignatureStorage): boolean => side.dockerReference !== undefined && useSigstoreAttachmentsFor(config(), side.dockerReference) === false;
  const carryAttachments = carry && !attachmentsOff(from) && !attachmentsOff(to);
  if (carry && !carryAttachments) result.skipped.push('cosign attachments: use-sigstore-attachments is false in registries.d');
  for (const digest of list) {
    if (carryAttachments && from.artifacts) {
      const { signatures, rejected } = await readCosignSignatures(from.artifacts, digest);
      result.skipped.push(...rejected.map((r) => `${r.location}: ${r.reason}`));
      if (signatures.length > 0) {
        const target = requireStore(to, dst, 'cosign signatures');
        const subject = await target.getManifest(digest);
        if (!subject) throw new BerthError('MANIFEST_UNKNOWN', `cannot attach signatures: ${target.description} has no manifest ${digest} (was its digest changed by the copy?)`);
        for (const sig of signatures) {
          const extra = { ...sig.layer.annotations };
          delete extra[SIGNATURE_ANNOTATION];
          const { added } = await attachCosignSignature(target, { digest, mediaType: subject.mediaType, size: subject.bytes.length }, sig.payload, sig.signature, sig.mode, extra);
          if (added) result.cosign++;
        }
      }
    }
    if (carry) {
      const signatures = await readSimpleSignatures(from, digest, config);
      if (signatures.length > 0) result.lookaside += await writeSimpleSignatures(to, digest, signatures, config, src, dst);
    }
    if (options.signBy) {
      const target = requireStore(to, dst, 'signatures');
      const subject = await target.getManifest(digest);
      if (!subject) throw new BerthError('MANIFEST_UNKNOWN', `cannot sign: ${target.description} has no manifest ${digest}`);
      const identity = options.signBy.identity ?? (to.dockerReference ? formatDockerReference(withoutDigest(to.dockerReference)) : undefined);
      if (!identity) throw new BerthError('USAGE', `signing ${dst.toString()} needs an identity (the registry name it will be pulled by)`);
      const signed = await cosignSign(target, { digest, mediaType: subject.mediaType, size: subject.bytes.length }, { key: options.signBy.key, identity, mode: options.signBy.mode ?? 'legacy' });
      if (signed.added) result.signed++;
    }
  }
  return result;
}

/**
 * Refuse, before a copy writes anything, when the source has signatures on `digest` (or the copy is asked
 * to sign) and the destination has no place for them: one line naming --remove-signatures, instead of a
 * complete archive or directory followed by a failure. Destinations that can hold every kind of signature
 * are not asked about, so a registry-to-registry copy makes no extra request here.
 */
export async function refuseSignaturesWithoutPlace(src: ImageReference, dst: ImageReference, digest: Digest, options: CopySignaturesOptions = {}): Promise<void> {
  const to = await signatureStorageOf(dst, options.destinationRegistry);
  if (options.signBy && !to.artifactsWhileWriting) requireStore(to, dst, 'signatures');
  if (options.carryExisting === false || (to.artifacts && to.dockerReference)) return;
  const from = await signatureStorageOf(src, options.sourceRegistry);
  // registries.d (and its YAML parser) loads only for a source with a registry name.
  let registriesD = options.registriesD;
  const config = (): RegistriesD => (registriesD ??= loadRegistriesD());
  if (!to.artifacts && !to.artifactsWhileWriting && from.artifacts && !(from.dockerReference && useSigstoreAttachmentsFor(config(), from.dockerReference) === false)) {
    if ((await readCosignSignatures(from.artifacts, digest)).signatures.length > 0) requireStore(to, dst, 'cosign signatures');
  }
  if (!to.dockerReference && !to.simpleSignatures && (await readSimpleSignatures(from, digest, config)).length > 0) throw noPlaceForSimpleSignatures(src, dst);
}

/** OpenPGP signatures of `digest`: kept with the image (dir:), or in the lookaside storage registries.d names for it. */
async function readSimpleSignatures(side: SignatureStorage, digest: Digest, config: () => RegistriesD): Promise<Buffer[]> {
  if (side.simpleSignatures) return side.simpleSignatures.read(digest);
  if (!side.dockerReference) return [];
  const base = lookasideFor(config(), side.dockerReference, false);
  return base ? readLookasideSignatures(base, side.dockerReference.path, digest) : [];
}

async function writeSimpleSignatures(to: SignatureStorage, digest: Digest, signatures: Buffer[], config: () => RegistriesD, src: ImageReference, dst: ImageReference): Promise<number> {
  if (to.simpleSignatures) return to.simpleSignatures.append(digest, signatures);
  if (!to.dockerReference) throw noPlaceForSimpleSignatures(src, dst);
  const writeBase = lookasideFor(config(), to.dockerReference, true);
  if (!writeBase) throw new BerthError('UNSUPPORTED', `${src.toString()} has OpenPGP signatures but registries.d names no lookaside storage for ${to.dockerReference.domain}/${to.dockerReference.path}; configure one or use --remove-signatures`);
  return appendLookasideSignatures(writeBase, to.dockerReference.path, digest, signatures);
}

function noPlaceForSimpleSignatures(src: ImageReference, dst: ImageReference): BerthError {
  return new BerthError('UNSUPPORTED', `${src.toString()} has OpenPGP signatures, which ${dst.toString()} cannot store; use --remove-signatures to copy without them`);
}

function withoutDigest(ref: DockerReference): DockerReference {
  const copy = { ...ref };
  if (copy.tag !== undefined) delete copy.digest;
  return copy;
}

function requireStore(to: SignatureStorage, dst: ImageReference, what: string): ArtifactStore {
  if (!to.artifacts) throw new BerthError('UNSUPPORTED', `${dst.toString()} (${to.transport} transport) cannot store ${what}; use --remove-signatures to copy without them`);
  return to.artifacts;
}
