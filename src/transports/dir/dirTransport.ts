import { resolve } from 'node:path';
import { BerthError } from '../../errors/BerthError.js';
import { registerTransport } from '../transportRegistry.js';
import type { SignatureStorage } from '../signatures.js';
import type { ImageDestination, ImageReference, ImageSource, Transport } from '../types.js';

/** `dir:PATH`: one image (or index with its instances) as loose files, skopeo's format. */
export class DirReference implements ImageReference {
  readonly transport: Transport = dirTransport;
  readonly dir: string;

  constructor(readonly within: string) {
    if (within === '') throw new BerthError('INVALID_REFERENCE', 'invalid dir: reference: missing path');
    this.dir = resolve(within);
  }

  get dockerReference(): string | undefined {
    return undefined;
  }

  toString(): string {
    return `dir:${this.within}`;
  }

  async newSource(): Promise<ImageSource> {
    const { DirSource } = await import('./DirSource.js');
    return DirSource.open(this, this.dir);
  }

  async newDestination(): Promise<ImageDestination> {
    const { DirDestination } = await import('./DirDestination.js');
    return DirDestination.open(this, this.dir);
  }

  /** OpenPGP simple signatures as `signature-N` files beside the manifest, as skopeo keeps them; no cosign attachments. */
  async signatureStorage(): Promise<SignatureStorage> {
    const { DirSignatures } = await import('./dirSignatures.js');
    return { transport: this.transport.name, description: this.toString(), policyScopes: [], simpleSignatures: new DirSignatures(this.dir) };
  }
}

export const dirTransport: Transport = {
  name: 'dir',
  parse: (within) => new DirReference(within),
};

registerTransport(dirTransport);
