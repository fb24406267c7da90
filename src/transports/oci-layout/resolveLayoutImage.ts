import { BerthError } from '../../errors/BerthError.js';
import type { Descriptor } from '../../oci/descriptor.js';
import type { ImageIndex } from '../../oci/manifest.js';
import { REF_NAME } from './OciLayout.js';

/**
 * Pick the index.json entry a reference means: the one whose ref.name
 * annotation is `tag`, or, without a tag, the only entry there is.
 */
export function resolveLayoutImage(index: ImageIndex, tag: string | undefined, where: string): Descriptor {
  if (tag !== undefined) {
    const matches = index.manifests.filter((m) => m.annotations?.[REF_NAME] === tag);
    if (matches.length === 0) throw new BerthError('TAG_UNKNOWN', `no image tagged "${tag}" in ${where}`);
    if (matches.length > 1 && new Set(matches.map((m) => m.digest)).size > 1) {
      throw new BerthError('LAYOUT_INVALID', `several different images are tagged "${tag}" in ${where}`);
    }
    return matches[0] as Descriptor;
  }
  if (index.manifests.length === 0) throw new BerthError('NOT_FOUND', `no image in ${where}`);
  if (index.manifests.length > 1) {
    const names = index.manifests.map((m) => m.annotations?.[REF_NAME]).filter((n): n is string => n !== undefined);
    throw new BerthError('USAGE', `${where} holds ${index.manifests.length} images: name one with :TAG${names.length > 0 ? ` (tags: ${names.join(', ')})` : ''}`);
  }
  return index.manifests[0] as Descriptor;
}
