import { resolve } from 'node:path';
import { BerthError } from '../../errors/BerthError.js';
import { registerTransport } from '../transportRegistry.js';
import type { SignatureStorage, StoredManifest } from '../signatures.js';
import type { ImageDestination, ImageReference, ImageSource, Transport } from '../types.js';
import { OciLayout, REF_NAME } from './OciLayout.js';
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

  /**
   * cosign attachments beside the image in the layout, as `cosign save` keeps them (no OpenPGP lookaside:
   * a layout has no registry name). Policy scopes: DIR:TAG, then DIR and each parent directory.
   */
  async signatureStorage(): Promise<SignatureStorage> {
    const { OciLayoutStore } = await import('./ociLayoutStore.js');
    const dir = resolve(this.path);
    const artifacts = new OciLayoutStore(dir);
    const policyScopes = this.tag !== undefined ? [`${dir}:${this.tag}`] : [];
    for (let d = dir; ; d = resolve(d, '..')) {
      policyScopes.push(d);
      if (d === '/') break;
    }
    const image = async (): Promise<StoredManifest> => {
      const stored = this.tag === undefined ? await onlyImage(artifacts) : await artifacts.getManifest(this.tag);
      if (!stored) throw new BerthError('MANIFEST_UNKNOWN', `${this.toString()}: no image tagged "${this.tag}" in the layout`);
      return stored;
    };
    return { transport: this.transport.name, description: artifacts.description, policyScopes, artifacts, image };
  }
}

/** `oci:DIR` without a tag means the layout's only image (signature tags aside), as containers tools read it. */
async function onlyImage(store: import('./ociLayoutStore.js').OciLayoutStore): Promise<StoredManifest | undefined> {
  const index = await store.readIndex();
  const tagged = index.manifests.filter((m) => m.annotations?.[REF_NAME] !== undefined && !m.annotations[REF_NAME].endsWith('.sig'));
  const candidates = tagged.length > 0 ? tagged : index.manifests;
  if (candidates.length !== 1) throw new BerthError('USAGE', `${store.description} holds ${candidates.length} images: name one as oci:DIR:TAG`);
  return store.getManifest((candidates[0] as { digest: string }).digest);
}

export const ociLayoutTransport: Transport = {
  name: 'oci',
  parse: (within) => new OciLayoutReference(within),
};

registerTransport(ociLayoutTransport);
