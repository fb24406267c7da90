import type { Readable } from 'node:stream';
import { join } from 'node:path';
import type { Descriptor } from '../../oci/descriptor.js';
import type { Digest } from '../../oci/digest.js';
import { checkArchiveTarget } from '../files/packDirectory.js';
import { makeWorkspace, removeWorkspace } from '../files/tempWorkspace.js';
import { OciLayout } from '../oci-layout/OciLayout.js';
import { OciLayoutDestination } from '../oci-layout/OciLayoutDestination.js';
import type { SignatureStorage } from '../signatures.js';
import type { DestinationCapabilities, ImageDestination, ImageReference, ManifestBlob } from '../types.js';
import { packLayoutArchive } from './packLayoutArchive.js';

/**
 * Writes an oci-archive: the image goes into a private temp layout, which
 * commit tars to a sibling of FILE and renames over it (a crash keeps the old FILE).
 */
export class OciArchiveDestination implements ImageDestination {
  readonly capabilities: DestinationCapabilities;

  private constructor(
    readonly reference: ImageReference,
    private readonly file: string,
    private readonly workspace: string,
    private readonly layoutRoot: string,
    private readonly inner: OciLayoutDestination,
  ) {
    this.capabilities = inner.capabilities;
  }

  static async open(reference: ImageReference, file: string, tag: string | undefined): Promise<OciArchiveDestination> {
    await checkArchiveTarget(file);
    const workspace = await makeWorkspace('oci-archive');
    try {
      const root = join(workspace, 'layout');
      // A staging layout: the archive written from it at commit is what must survive a crash.
      const inner = await OciLayoutDestination.open(reference, new OciLayout(root, false), tag);
      return new OciArchiveDestination(reference, file, workspace, root, inner);
    } catch (err) {
      await removeWorkspace(workspace);
      throw err;
    }
  }

  tryReuseBlob(descriptor: Descriptor): Promise<boolean> {
    return this.inner.tryReuseBlob(descriptor);
  }

  putBlob(descriptor: Descriptor, content: Readable): Promise<void> {
    return this.inner.putBlob(descriptor, content);
  }

  putManifest(manifest: ManifestBlob, instanceDigest?: Digest): Promise<void> {
    return this.inner.putManifest(manifest, instanceDigest);
  }

  /** The staged layout: signatures stored here before commit are packed into the archive with the image. */
  async signatureStorage(): Promise<SignatureStorage> {
    const { OciLayoutStore } = await import('../oci-layout/ociLayoutStore.js');
    return { transport: this.reference.transport.name, description: this.reference.toString(), policyScopes: [], artifacts: new OciLayoutStore(this.layoutRoot) };
  }

  async commit(): Promise<void> {
    await this.inner.commit();
    await packLayoutArchive(this.layoutRoot, this.file);
  }

  async close(): Promise<void> {
    await removeWorkspace(this.workspace);
  }
}
