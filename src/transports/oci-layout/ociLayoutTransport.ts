import { resolve } from 'node:path';
import { BerthError } from '../../errors/BerthError.js';
import { registerTransport } from '../transportRegistry.js';
import type { ImageDestination, ImageReference, ImageSource, Transport } from '../types.js';
import { OciLayout } from './OciLayout.js';
import { OciLayoutSource } from './OciLayoutSource.js';

/** What an OCI ref.name may hold (image-spec annotations: alphanumerics and `-._:@/+`). */
const REF_NAME_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9._:@/+-]*[A-Za-z0-9])?$/;

/** Split `PATH[:TAG]` at the first colon, as skopeo does (paths with colons are not expressible). */
export function splitPathAndTag(within: string, transport: string): { path: string; tag: string | undefined } {
  const colon = within.indexOf(':');
  const path = colon < 0 ? within : within.slice(0, colon);
  const tag = colon < 0 ? undefined : within.slice(colon + 1);
  if (path === '') throw new BerthError('INVALID_REFERENCE', `invalid ${transport}: reference "${within}": missing path`);
  if (tag !== undefined && !REF_NAME_PATTERN.test(tag)) {
    throw new BerthError('INVALID_REFERENCE', `invalid ${transport}: reference "${within}": "${tag}" is not a valid image name`);
  }
  return { path, tag };
}

export class OciLayoutReference implements ImageReference {
  readonly transport: Transport = ociLayoutTransport;
  readonly path: string;
  readonly tag: string | undefined;

  constructor(readonly within: string) {
    ({ path: this.path, tag: this.tag } = splitPathAndTag(within, 'oci'));
  }

  get dockerReference(): string | undefined {
    return undefined;
  }

  toString(): string {
    return `oci:${this.within}`;
  }

  layout(): OciLayout {
    return new OciLayout(resolve(this.path));
  }

  newSource(): Promise<ImageSource> {
    return OciLayoutSource.open(this, this.layout(), this.tag);
  }

  async newDestination(): Promise<ImageDestination> {
    const { OciLayoutDestination } = await import('./OciLayoutDestination.js');
    return OciLayoutDestination.open(this, this.layout(), this.tag);
  }

  async deleteImage(): Promise<void> {
    if (this.tag === undefined) throw new BerthError('USAGE', `delete ${this.toString()}: name the image to delete with :TAG`);
    const { deleteLayoutImage } = await import('./deleteLayoutImage.js');
    await deleteLayoutImage(this.layout(), { tag: this.tag }, this.toString());
  }
}

export const ociLayoutTransport: Transport = {
  name: 'oci',
  parse: (within) => new OciLayoutReference(within),
};

registerTransport(ociLayoutTransport);
