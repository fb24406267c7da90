import { resolve } from 'node:path';
import { BerthError } from '../../errors/BerthError.js';
import { formatDockerReference, parseDockerReferenceWithDefaultTag } from '../../reference/dockerReference.js';
import { registerTransport } from '../transportRegistry.js';
import type { ImageDestination, ImageReference, ImageSource, Transport, TransportOptions } from '../types.js';

/**
 * `docker-archive:FILE[:REF]` — docker save/load format. REF is a docker
 * reference (normalised: `busybox` means docker.io/library/busybox:latest),
 * or `@N` for the N-th image (0-based) of a multi-image archive.
 */
export class DockerArchiveReference implements ImageReference {
  readonly transport: Transport = dockerArchiveTransport;
  readonly file: string;
  /** Normalised docker reference, when REF names one. */
  readonly named: string | undefined;
  readonly index: number | undefined;

  constructor(readonly within: string) {
    const colon = within.indexOf(':');
    const path = colon < 0 ? within : within.slice(0, colon);
    const rest = colon < 0 ? undefined : within.slice(colon + 1);
    if (path === '') throw new BerthError('INVALID_REFERENCE', `invalid docker-archive: reference "${within}": missing file`);
    this.file = resolve(path);
    if (rest !== undefined && rest.startsWith('@')) {
      const n = Number(rest.slice(1));
      if (!/^\d+$/.test(rest.slice(1)) || !Number.isSafeInteger(n)) throw new BerthError('INVALID_REFERENCE', `invalid docker-archive: reference "${within}": @N takes a whole number`);
      this.index = n;
    } else if (rest !== undefined) {
      const ref = parseDockerReferenceWithDefaultTag(rest);
      if (ref.digest !== undefined) throw new BerthError('INVALID_REFERENCE', `invalid docker-archive: reference "${within}": a docker archive names images by tag, not digest`);
      this.named = formatDockerReference(ref);
    }
  }

  get dockerReference(): string | undefined {
    return this.named;
  }

  toString(): string {
    return `docker-archive:${this.within}`;
  }

  async newSource(options?: TransportOptions): Promise<ImageSource> {
    const { DockerArchiveSource } = await import('./DockerArchiveSource.js');
    return DockerArchiveSource.open(this, this.file, { named: this.named, index: this.index ?? options?.sourceIndex });
  }

  async newDestination(): Promise<ImageDestination> {
    if (this.index !== undefined) throw new BerthError('USAGE', `${this.toString()}: @N selects an image to read; name the image to write with :NAME:TAG`);
    const { DockerArchiveDestination } = await import('./DockerArchiveDestination.js');
    return DockerArchiveDestination.open(this, this.file, this.named);
  }
}

export const dockerArchiveTransport: Transport = {
  name: 'docker-archive',
  parse: (within) => new DockerArchiveReference(within),
};

registerTransport(dockerArchiveTransport);
