import type { RegistryOptions } from '../../registry/client/index.js';
import type { SignatureStorage } from '../transports/signatures.js';
import type { ImageReference } from '../transports/types.js';

/** Where `ref` keeps signatures: what its transport offers, or nothing (a transport that carries none). */
export async function signatureStorageOf(ref: ImageReference, registry?: RegistryOptions): Promise<SignatureStorage> {
  return (await ref.signatureStorage?.(registry ? { registry } : {})) ?? { transport: ref.transport.name, description: ref.transport.name, policyScopes: [] };
}

/**
 * Whether a copy from `from` to `to` could have signatures with no place to go (carried ones, or made with
 * signBy): when false, nothing needs reading before the copy writes, and the signature code stays off its path.
 */
export function signaturesMayLackAPlace(from: SignatureStorage, to: SignatureStorage, options: { carryExisting?: boolean; signBy?: unknown }): boolean {
  const noCosignPlace = !to.artifacts && !to.artifactsWhileWriting;
  if (options.signBy && noCosignPlace) return true;
  if (options.carryExisting === false) return false;
  const cosign = noCosignPlace && from.artifacts !== undefined;
  const simple = !to.dockerReference && !to.simpleSignatures && (from.dockerReference !== undefined || from.simpleSignatures !== undefined);
  return cosign || simple;
}
