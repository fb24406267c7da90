import { resolveUser, type ResolvedUser } from '../../../src/bundle/userLookup.js';
import { RootResolver } from '../../../src/layer/rootResolver.js';

/** USER or --chown of a step, names looked up in the stage's own /etc/passwd and /etc/group ("" is root). */
export function resolveStageUser(root: string, user: string | undefined): ResolvedUser {
  return resolveUser(new RootResolver(root), user);
}

/**
 * Where a path of the stage lands once its symlinks are followed inside the stage (a COPY into /app, where /app is
 * a link to /srv, writes /srv): the longest existing directory prefix resolved, the rest appended as written.
 */
export function resolveInStage(root: string, path: string): string {
  const resolver = new RootResolver(root);
  const parts = path.split('/').filter((p) => p !== '' && p !== '.').map((p) => Buffer.from(p, 'utf8').toString('latin1'));
  for (let i = parts.length; i > 0; i--) {
    let found: string | undefined;
    try {
      found = resolver.resolveDirectory(parts.slice(0, i), false);
    } catch {
      continue; // a file (or a link to one) there: the copy replaces it, under the directory above
    }
    if (found !== undefined) return Buffer.from([found, ...parts.slice(i)].filter((p) => p !== '').join('/'), 'latin1').toString('utf8');
  }
  return Buffer.from(parts.join('/'), 'latin1').toString('utf8');
}
