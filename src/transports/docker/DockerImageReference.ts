import { BerthError } from '../../errors/BerthError.js';
import { dockerScopes, formatDockerReference, parseDockerReference, type DockerReference } from '../../reference/dockerReference.js';
import type { SignatureStorage } from '../signatures.js';
import type { DeleteOptions, DeleteReport, ImageDestination, ImageReference, ImageSource, Transport, TransportOptions } from '../types.js';

/** `docker://host/repo[:tag][@digest]`: an image in a registry. Without tag or digest, `:latest` as skopeo does. */
export class DockerImageReference implements ImageReference {
  readonly ref: DockerReference;

  constructor(
    readonly transport: Transport,
    readonly within: string,
  ) {
    this.ref = parseDockerReference(within);
    if (this.ref.tag === undefined && this.ref.digest === undefined) this.ref.tag = 'latest';
  }

  get dockerReference(): string {
    return formatDockerReference(this.ref);
  }

  toString(): string {
    return `docker://${this.within}`;
  }

  /** What the registry calls the image: the digest when there is one, else the tag. */
  get manifestReference(): string {
    return this.ref.digest ?? this.ref.tag!;
  }

  async newSource(options?: TransportOptions): Promise<ImageSource> {
    // The registry client (undici) loads only when a registry is used: local-only commands start faster.
    const { DockerImageSource } = await import('./DockerImageSource.js');
    return DockerImageSource.open(this, options);
  }

  async newDestination(options?: TransportOptions): Promise<ImageDestination> {
    const { DockerImageDestination } = await import('./DockerImageDestination.js');
    return new DockerImageDestination(this, options);
  }

  async deleteImage(options?: TransportOptions, how: DeleteOptions = {}): Promise<DeleteReport> {
    const { deleteDockerImage } = await import('./deleteImage.js');
    return deleteDockerImage(this, options, { allTagsOfDigest: how.allTagsOfDigest === true });
  }

  /** The tags of the repository, from the registry that serves it (its mirrors are for pulls, not listings). */
  async listTags(options?: TransportOptions): Promise<{ repository: string; tags: string[] }> {
    const { sourceEndpoints } = await import('./endpoints.js');
    const endpoints = sourceEndpoints(this.ref.domain, this.ref.path, false, options ?? {});
    const endpoint = endpoints[endpoints.length - 1]!;
    return { repository: `${this.ref.domain}/${this.ref.path}`, tags: await endpoint.client.listTags(endpoint.repository) };
  }

  get repositoryTag(): { repository: string; tag: string } | undefined {
    return this.ref.digest === undefined && this.ref.tag !== undefined ? { repository: `${this.ref.domain}/${this.ref.path}`, tag: this.ref.tag } : undefined;
  }

  async manifestHead(options: TransportOptions | undefined, side: 'source' | 'destination'): Promise<{ digest: string; mediaType: string } | null> {
    const { destinationEndpoint, sourceEndpoints } = await import('./endpoints.js');
    const endpoint = side === 'destination'
      ? destinationEndpoint(this.ref.domain, this.ref.path, options ?? {})
      : sourceEndpoints(this.ref.domain, this.ref.path, this.ref.digest !== undefined, options ?? {}).at(-1)!;
    const head = await endpoint.client.headManifest(endpoint.repository, this.manifestReference);
    return head?.digest ? { digest: head.digest, mediaType: head.mediaType } : null;
  }

  /** cosign attachments in the image's repository; OpenPGP signatures in the lookaside storage registries.d names for it. */
  async signatureStorage(options?: TransportOptions): Promise<SignatureStorage> {
    const { RegistryStore } = await import('./registryStore.js');
    const artifacts = new RegistryStore(this.ref.domain, this.ref.path, options?.registry);
    return {
      transport: this.transport.name,
      description: artifacts.description,
      policyScopes: dockerScopes(this.ref),
      dockerReference: this.ref,
      artifacts,
      image: async () => {
        const stored = await artifacts.getManifest(this.manifestReference);
        if (!stored) throw new BerthError('MANIFEST_UNKNOWN', `${this.toString()}: manifest unknown`);
        return stored;
      },
    };
  }
}

export const dockerTransport: Transport = {
  name: 'docker',
  parse(within: string): ImageReference {
    if (within.length === 0) throw new BerthError('INVALID_REFERENCE', 'docker:// needs an image name');
    return new DockerImageReference(dockerTransport, within);
  },
};
