import type { RegistryOptions } from '../../registry/client/index.js';
import type { SignatureStorage } from '../transports/signatures.js';
import type { ImageReference } from '../transports/types.js';

/** Where `ref` keeps signatures: what its transport offers, or nothing (a transport that carries none). */
export async function signatureStorageOf(ref: ImageReference, registry?: RegistryOptions): Promise<SignatureStorage> {
  return (await ref.signatureStorage?.(registry ? { registry } : {})) ?? { transport: ref.transport.name, description: ref.transport.name, policyScopes: [] };
}
