import type { LayerEntry } from './tarWriter.js';

/** OCI whiteouts: `.wh.NAME` hides NAME of lower layers; the opaque marker hides everything lower layers put in its directory. */
export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_MARKER = '.wh..wh..opq';

/**
 * The member that deletes `rel` (a byte-string layer path). Markers carry no
 * owner, mode or time of their own, so the same deletion always gives the
 * same bytes (a pinned mtime still applies, as to every member).
 */
export function whiteoutMember(rel: string): LayerEntry {
  const slash = rel.lastIndexOf('/');
  return marker(`${rel.slice(0, slash + 1)}${WHITEOUT_PREFIX}${rel.slice(slash + 1)}`);
}

/** The member that makes directory `dirRel` opaque. */
export function opaqueMember(dirRel: string): LayerEntry {
  return marker(dirRel === '' ? OPAQUE_MARKER : `${dirRel}/${OPAQUE_MARKER}`);
}

function marker(rel: string): LayerEntry {
  return { path: Buffer.from(rel, 'latin1'), type: 'file', mode: 0, uid: 0, gid: 0 };
}
