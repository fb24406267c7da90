/** A request path matched to one endpoint of the distribution spec; names are validated later, not decoded. */
export type Route =
  | { kind: 'base' }
  | { kind: 'catalog' }
  | { kind: 'token' }
  | { kind: 'tags'; name: string }
  | { kind: 'manifest'; name: string; reference: string }
  | { kind: 'blob'; name: string; digest: string }
  | { kind: 'uploadStart'; name: string }
  | { kind: 'upload'; name: string; id: string }
  | { kind: 'referrers'; name: string; digest: string };

/**
 * Match the raw request path. It is deliberately not URL-decoded or
 * normalised: `%2e%2e` or `..` stay in the name and the name grammar refuses them.
 */
export function matchRoute(path: string): Route | undefined {
  if (path === '/v2' || path === '/v2/') return { kind: 'base' };
  if (path === '/v2/_catalog') return { kind: 'catalog' };
  if (path === '/token') return { kind: 'token' };
  let m: RegExpExecArray | null;
  if ((m = /^\/v2\/(.+)\/tags\/list$/.exec(path))) return { kind: 'tags', name: m[1]! };
  if ((m = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(path))) return { kind: 'manifest', name: m[1]!, reference: m[2]! };
  if ((m = /^\/v2\/(.+)\/blobs\/uploads\/?$/.exec(path))) return { kind: 'uploadStart', name: m[1]! };
  if ((m = /^\/v2\/(.+)\/blobs\/uploads\/([^/]+)$/.exec(path))) return { kind: 'upload', name: m[1]!, id: m[2]! };
  if ((m = /^\/v2\/(.+)\/blobs\/([^/]+)$/.exec(path))) return { kind: 'blob', name: m[1]!, digest: m[2]! };
  if ((m = /^\/v2\/(.+)\/referrers\/([^/]+)$/.exec(path))) return { kind: 'referrers', name: m[1]!, digest: m[2]! };
  return undefined;
}
