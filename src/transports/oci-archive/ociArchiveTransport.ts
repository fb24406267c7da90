import { resolve } from 'node:path';
import { registerTransport } from '../transportRegistry.js';
import type { ImageDestination, ImageReference, ImageSource, Transport } from '../types.js';
import { splitPathAndTag } from '../oci-layout/ociLayoutTransport.js';
import { OciArchiveDestination } from './OciArchiveDestination.js';
import { OciArchiveSource } from './OciArchiveSource.js';

/** `oci-archive:FILE[:TAG]`: a tar of an OCI image layout. */
export class OciArchiveReference implements ImageReference {
  readonly transport: Transport = ociArchiveTransport;
  readonly file: string;
  readonly tag: string | undefined;

  constructor(readonly within: string) {
    const { path, tag } = splitPathAndTag(within, 'oci-archive');
    this.file = resolve(path);
    this.tag = tag;
  }

  get dockerReference(): string | undefined {
    return undefined;
  }

  toString(): string {
    return `oci-archive:${this.within}`;
  }

  newSource(): Promise<ImageSource> {
    return OciArchiveSource.open(this, this.file, this.tag);
  }

  newDestination(): Promise<ImageDestination> {
    return OciArchiveDestination.open(this, this.file, this.tag);
  }
}

export const ociArchiveTransport: Transport = {
  name: 'oci-archive',
  parse: (within) => new OciArchiveReference(within),
};

registerTransport(ociArchiveTransport);
