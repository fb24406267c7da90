import { resolve } from 'node:path';
import { BerthError } from '../../errors/BerthError.js';
import { registerTransport } from '../transportRegistry.js';
import type { ImageDestination, ImageReference, ImageSource, Transport } from '../types.js';
import { DirDestination } from './DirDestination.js';
import { DirSource } from './DirSource.js';

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

  newSource(): Promise<ImageSource> {
    return DirSource.open(this, this.dir);
  }

  newDestination(): Promise<ImageDestination> {
    return DirDestination.open(this, this.dir);
  }
}

export const dirTransport: Transport = {
  name: 'dir',
  parse: (within) => new DirReference(within),
};

registerTransport(dirTransport);
