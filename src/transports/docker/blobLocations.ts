import type { Digest } from '../../oci/digest.js';

/**
 * Where this process has seen each blob (registry host + repository), so a
 * destination on the same registry can mount instead of upload. Sources record
 * what their manifests name; destinations record what they stored.
 */
const locations = new Map<Digest, Set<string>>();

export function recordBlobLocation(digest: Digest, host: string, repository: string): void {
  let set = locations.get(digest);
  if (!set) {
    set = new Set();
    locations.set(digest, set);
  }
  set.add(`${host}/${repository}`);
}

/** Repositories on `host` other than `exclude` known to hold the blob. */
export function knownRepositories(digest: Digest, host: string, exclude: string): string[] {
  const out: string[] = [];
  for (const entry of locations.get(digest) ?? []) {
    if (entry.startsWith(`${host}/`)) {
      const repository = entry.slice(host.length + 1);
      if (repository !== exclude) out.push(repository);
    }
  }
  return out;
}

/** Whether this process saw the blob in exactly this repository (stored, mounted, confirmed, or named by a manifest served from it). */
export function knownIn(digest: Digest, host: string, repository: string): boolean {
  return locations.get(digest)?.has(`${host}/${repository}`) ?? false;
}
