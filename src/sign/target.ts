import type { RegistryOptions } from '../../registry/client/index.js';
import { BerthError } from '../errors/BerthError.js';
import { isDigest, type Digest } from '../oci/digest.js';
import { parseManifest, type ParsedManifest } from '../oci/manifest.js';
import type { DockerReference } from '../reference/dockerReference.js';
import '../transports/allTransports.js';
import type { ArtifactStore, SignatureStorage } from '../transports/signatures.js';
import { parseImageReference } from '../transports/transportRegistry.js';
import type { PolicySubject } from './policy/evaluatePolicy.js';
import { signatureStorageOf } from './signatureStorage.js';

/**
 * An image named on the command line, resolved to a digest in the store that holds its signatures: any
 * reference whose transport offers signature storage (docker:// registries and oci: layouts today).
 */
export interface SignTarget {
  /** As the user wrote it. */
  input: string;
  store: ArtifactStore;
  manifest: ParsedManifest;
  /** The docker reference the image was reached by (registries only). */
  dockerReference?: DockerReference;
  /** Where the signatures are and how the policy names the image. */
  storage: SignatureStorage;
}

export interface TargetOptions {
  registry?: RegistryOptions;
}

export async function resolveTarget(input: string, options: TargetOptions = {}): Promise<SignTarget> {
  const storage = await signatureStorageOf(parseImageReference(input), options.registry);
  if (!storage.artifacts || !storage.image) throw new BerthError('UNSUPPORTED_TRANSPORT', `${input}: signatures are stored in registries (docker://NAME) and OCI layouts (oci:DIR:TAG) only`);
  const stored = await storage.image();
  return { input, store: storage.artifacts, manifest: parseManifest(stored.bytes, stored.mediaType), storage, ...(storage.dockerReference ? { dockerReference: storage.dockerReference } : {}) };
}

/** Digests a signature should cover: the image, and with `recursive` every instance of an index. */
export function digestsToSign(manifest: ParsedManifest, recursive: boolean): { digest: Digest; mediaType: string; size: number }[] {
  const out = [{ digest: manifest.digest, mediaType: manifest.mediaType, size: manifest.bytes.length }];
  if (recursive && manifest.kind === 'index') {
    for (const m of manifest.index.manifests) if (isDigest(m.digest)) out.push({ digest: m.digest, mediaType: m.mediaType, size: m.size });
  }
  return out;
}

/** The policy's view of a resolved target. */
export function policySubjectForTarget(target: SignTarget): PolicySubject {
  return { ...target.storage, digest: target.manifest.digest };
}
