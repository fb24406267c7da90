import { BerthError } from '../errors/BerthError.js';
import type { IdMapper } from '../layer/applyLayer.js';
import type { IdMapping } from './runtimeSpec.js';

/** Parse `CONTAINER:HOST[:SIZE]` as umoci's --uid-map/--gid-map take it (size defaults to 1). */
export function parseIdMapping(spec: string, flag: string): IdMapping {
  const parts = spec.split(':');
  if (parts.length < 2 || parts.length > 3 || !parts.every((p) => /^[0-9]{1,10}$/.test(p))) {
    throw new BerthError('USAGE', `${flag} "${spec}": expected CONTAINER_ID:HOST_ID[:SIZE]`);
  }
  const [containerID, hostID, size = 1] = parts.map(Number) as [number, number, number?];
  if (size < 1 || containerID + size > 2 ** 32 || hostID + size > 2 ** 32) throw new BerthError('USAGE', `${flag} "${spec}": range out of bounds`);
  return { containerID, hostID, size };
}

function mapOne(mappings: readonly IdMapping[], id: number, what: string): number {
  for (const m of mappings) {
    if (id >= m.containerID && id < m.containerID + m.size) return m.hostID + (id - m.containerID);
  }
  throw new BerthError('LAYER_INVALID', `${what} ${id} in the image is not covered by the ${what} map`);
}

/** Container ids → host ids for files written into a user-namespaced rootfs. */
export function idMapper(uidMappings: readonly IdMapping[], gidMappings: readonly IdMapping[]): IdMapper {
  return {
    uid: (id) => (uidMappings.length === 0 ? id : mapOne(uidMappings, id, 'uid')),
    gid: (id) => (gidMappings.length === 0 ? id : mapOne(gidMappings, id, 'gid')),
  };
}
