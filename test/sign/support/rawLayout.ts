import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ImageManifest } from '../../../src/oci/manifest.js';
import { digestOf, type Digest } from '../../../src/oci/digest.js';

/** Raw access to an OCI layout, so tests can forge what an attacker would write without going through berth. */
export class RawLayout {
  constructor(readonly dir: string) {}

  index(): { manifests: { mediaType: string; digest: string; size: number; annotations?: Record<string, string> }[] } {
    return JSON.parse(readFileSync(join(this.dir, 'index.json'), 'utf8'));
  }

  writeIndex(index: unknown): void {
    writeFileSync(join(this.dir, 'index.json'), JSON.stringify(index));
  }

  blob(digest: string): Buffer {
    return readFileSync(join(this.dir, 'blobs', 'sha256', digest.replace('sha256:', '')));
  }

  putBlob(data: Buffer): { digest: Digest; size: number } {
    const digest = digestOf(data);
    writeFileSync(join(this.dir, 'blobs', 'sha256', digest.slice(7)), data);
    return { digest, size: data.length };
  }

  /** Point `tag` at a manifest (replacing what the tag named). */
  tag(tag: string, manifest: Buffer): string {
    const { digest, size } = this.putBlob(manifest);
    const index = this.index();
    index.manifests = index.manifests.filter((m) => m.annotations?.['org.opencontainers.image.ref.name'] !== tag);
    index.manifests.push({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size, annotations: { 'org.opencontainers.image.ref.name': tag } });
    this.writeIndex(index);
    return digest;
  }

  manifestByTag(tag: string): { digest: string; doc: ImageManifest } {
    const entry = this.index().manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag);
    if (!entry) throw new Error(`no tag ${tag}`);
    return { digest: entry.digest, doc: JSON.parse(this.blob(entry.digest).toString()) as ImageManifest };
  }
}

export function sigTag(digest: string): string {
  return `${digest.replace(':', '-')}.sig`;
}
