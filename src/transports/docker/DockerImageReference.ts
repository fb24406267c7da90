import { BerthError } from '../../errors/BerthError.js';
import { formatDockerReference, parseDockerReference, type DockerReference } from '../../reference/dockerReference.js';
import type { ImageDestination, ImageReference, ImageSource, Transport, TransportOptions } from '../types.js';
import { DockerImageDestination } from './DockerImageDestination.js';
import { DockerImageSource } from './DockerImageSource.js';
import { deleteDockerImage } from './deleteImage.js';

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

  newSource(options?: TransportOptions): Promise<ImageSource> {
    return DockerImageSource.open(this, options);
  }

  newDestination(options?: TransportOptions): Promise<ImageDestination> {
    return Promise.resolve(new DockerImageDestination(this, options));
  }

  async deleteImage(options?: TransportOptions): Promise<void> {
    await deleteDockerImage(this, options, { allTagsOfDigest: false });
  }
}

export const dockerTransport: Transport = {
  name: 'docker',
  parse(within: string): ImageReference {
    if (within.length === 0) throw new BerthError('INVALID_REFERENCE', 'docker:// needs an image name');
    return new DockerImageReference(dockerTransport, within);
  },
};
