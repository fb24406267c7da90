import { resolve } from 'node:path';
import { registerTransport } from '../transportRegistry.js';
import type { SignatureStorage } from '../signatures.js';
import type { ImageDestination, ImageReference, ImageSource, Transport } from '../types.js';
import { splitPathAndTag } from '../oci-layout/ociLayoutTransport.js';

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

  async newSource(): Promise<ImageSource> {
    const { OciArchiveSource } = await import('./OciArchiveSource.js');
    return OciArchiveSource.open(this, this.file, this.tag);
  }

  async newDestination(): Promise<ImageDestination> {
    const { OciArchiveDestination } = await import('./OciArchiveDestination.js');
    return OciArchiveDestination.open(this, this.file, this.tag);
  }

  /** cosign signatures are written into the archive's layout with the image, as `cosign save` keeps them. */
  async signatureStorage(): Promise<SignatureStorage> {
    return { transport: this.transport.name, description: this.toString(), policyScopes: [], artifactsWhileWriting: true };
  }
}

export const ociArchiveTransport: Transport = {
  name: 'oci-archive',
  parse: (within) => new OciArchiveReference(within),
};

registerTransport(ociArchiveTransport);
