import { resolve } from 'node:path';
import type { RegistryOptions } from '../../../registry/client/index.js';
import { parseDockerReference, type DockerReference } from '../../reference/dockerReference.js';
import type { ImageReference } from '../../transports/types.js';
import type { ArtifactStore } from './artifactStore.js';
import { OciLayoutStore } from './ociLayoutStore.js';
import { RegistryStore } from './registryStore.js';

/** Where a transport reference keeps signatures: a store for docker:// and oci:, nothing for the rest. */
export interface SignatureLocation {
  transport: string;
  store?: ArtifactStore;
  dockerReference?: DockerReference;
  ociLayout?: { dir: string; tag?: string };
}

/** Split `oci:` references the way containers does: DIR[:TAG], the first colon separating them. */
export function splitOciReference(within: string): { dir: string; tag?: string } {
  const colon = within.indexOf(':');
  return colon === -1 ? { dir: resolve(within) } : { dir: resolve(within.slice(0, colon)), tag: within.slice(colon + 1) };
}

export function signatureLocationFor(ref: ImageReference, registry?: RegistryOptions): SignatureLocation {
  const transport = ref.transport.name;
  if (transport === 'docker') {
    const dockerReference = parseDockerReference(ref.dockerReference ?? ref.within);
    if (dockerReference.tag === undefined && dockerReference.digest === undefined) dockerReference.tag = 'latest';
    return { transport, dockerReference, store: new RegistryStore(dockerReference.domain, dockerReference.path, registry) };
  }
  if (transport === 'oci') {
    const ociLayout = splitOciReference(ref.within);
    return { transport, ociLayout, store: new OciLayoutStore(ociLayout.dir) };
  }
  return { transport };
}
