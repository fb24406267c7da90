import { join } from 'node:path';
import { digestHex, parseDigest, type Digest } from '../../oci/digest.js';

/** skopeo's `dir:` layout (containers/image directory transport, version 1.1). */
export const VERSION_FILE = 'version';
export const VERSION_TEXT = 'Directory Transport Version: 1.1\n';
const TOP_MANIFEST = 'manifest.json';

/** Blobs are named by the hex part of their digest. */
export function blobFile(dir: string, digest: Digest): string {
  return join(dir, digestHex(parseDigest(digest)));
}

/** Instances of an index: `<hex>.manifest.json`; the top level: `manifest.json`. */
export function manifestFile(dir: string, instanceDigest?: Digest): string {
  return join(dir, instanceDigest === undefined ? TOP_MANIFEST : `${digestHex(parseDigest(instanceDigest))}.manifest.json`);
}
