import type { RegistryOptions } from '../../registry/client/index.js';
import { BerthError } from '../errors/BerthError.js';
import { isDigest, type Digest } from '../oci/digest.js';
import { parseManifest, type ParsedManifest } from '../oci/manifest.js';
import { parseDockerReference, type DockerReference } from '../reference/dockerReference.js';
import type { PolicySubject } from './policy/evaluatePolicy.js';
import type { ArtifactStore } from './store/artifactStore.js';
import { OciLayoutStore } from './store/ociLayoutStore.js';
import { RegistryStore } from './store/registryStore.js';
import { splitOciReference } from './store/storeForReference.js';

/**
 * An image named on the command line, resolved to a digest in a store that can
 * hold its signatures. Only the two transports that can carry signature
 * artifacts are accepted: `docker://` registries and `oci:` layouts.
 */
export interface SignTarget {
  /** As the user wrote it. */
  input: string;
  store: ArtifactStore;
  manifest: ParsedManifest;
  /** The docker reference the image was reached by (registries only). */
  dockerReference?: DockerReference;
  /** Registry domain and repository path, used by lookaside signature storage. */
  repository?: { domain: string; path: string };
}

export interface TargetOptions {
  registry?: RegistryOptions;
}

export async function resolveTarget(input: string, options: TargetOptions = {}): Promise<SignTarget> {
  if (input.startsWith('docker://')) {
    const ref = parseDockerReference(input.slice('docker://'.length));
    if (ref.tag === undefined && ref.digest === undefined) ref.tag = 'latest';
    const store = new RegistryStore(ref.domain, ref.path, options.registry);
    const wanted = ref.digest ?? (ref.tag as string);
    const stored = await store.getManifest(wanted);
    if (!stored) throw new BerthError('MANIFEST_UNKNOWN', `${input}: manifest unknown`);
    return { input, store, manifest: parseManifest(stored.bytes, stored.mediaType), dockerReference: ref, repository: { domain: ref.domain, path: ref.path } };
  }
  if (input.startsWith('oci:')) {
    const { dir, tag } = splitOciReference(input.slice('oci:'.length));
    const store = new OciLayoutStore(dir);
    const stored = tag === undefined ? await onlyImage(store) : await store.getManifest(tag);
    if (!stored) throw new BerthError('MANIFEST_UNKNOWN', `${input}: no image tagged "${tag}" in the layout`);
    return { input, store, manifest: parseManifest(stored.bytes, stored.mediaType) };
  }
  throw new BerthError('UNSUPPORTED_TRANSPORT', `${input}: signatures are stored in registries (docker://NAME) and OCI layouts (oci:DIR:TAG) only`);
}

/** `oci:DIR` without a tag means the layout's only image, as containers tools read it. */
async function onlyImage(store: OciLayoutStore) {
  const index = await store.readIndex();
  const tagged = index.manifests.filter((m) => m.annotations?.['org.opencontainers.image.ref.name'] !== undefined && !m.annotations['org.opencontainers.image.ref.name'].endsWith('.sig'));
  const candidates = tagged.length > 0 ? tagged : index.manifests;
  if (candidates.length !== 1) throw new BerthError('USAGE', `${store.description} holds ${candidates.length} images: name one as oci:DIR:TAG`);
  return store.getManifest((candidates[0] as { digest: Digest }).digest);
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
  if (target.dockerReference) return { transport: 'docker', digest: target.manifest.digest, dockerReference: target.dockerReference, store: target.store };
  const layout = splitOciReference(target.input.slice('oci:'.length));
  return { transport: 'oci', digest: target.manifest.digest, ociLayout: layout, store: target.store };
}
