/** One parsed `WWW-Authenticate` challenge: `Bearer realm="…",service="…",scope="…"`. */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/**
 * Parse a WWW-Authenticate header value. Registries send one challenge; when
 * several are present the first Bearer one is preferred, then Basic.
 */
export function parseChallenges(header: string | string[] | undefined): Challenge[] {
  const values = header === undefined ? [] : [header].flat();
  const out: Challenge[] = [];
  for (const value of values) {
    let rest = value.trim();
    while (rest.length > 0) {
      const schemeMatch = /^([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*)\s*/.exec(rest);
      if (!schemeMatch) break;
      const scheme = schemeMatch[1]!.toLowerCase();
      rest = rest.slice(schemeMatch[0].length);
      const params: Record<string, string> = {};
      for (;;) {
        const param = /^([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?\s*/.exec(rest);
        if (!param) break;
        params[param[1]!.toLowerCase()] = param[2] !== undefined ? param[2].replace(/\\(.)/g, '$1') : param[3] ?? '';
        rest = rest.slice(param[0].length);
      }
      out.push({ scheme, params });
      rest = rest.replace(/^,\s*/, '');
    }
  }
  return out.sort((a, b) => rank(a.scheme) - rank(b.scheme));
}

function rank(scheme: string): number {
  return scheme === 'bearer' ? 0 : scheme === 'basic' ? 1 : 2;
}

/** Merge scope strings the way token servers expect: one entry per resource, actions unioned. */
export function mergeScopes(scopes: Iterable<string>): string[] {
  const byResource = new Map<string, Set<string>>();
  for (const scope of scopes) {
    const last = scope.lastIndexOf(':');
    if (last < 0) continue;
    const resource = scope.slice(0, last);
    const actions = byResource.get(resource) ?? new Set<string>();
    for (const action of scope.slice(last + 1).split(',')) if (action) actions.add(action);
    byResource.set(resource, actions);
  }
  return [...byResource.entries()].map(([resource, actions]) => `${resource}:${[...actions].sort().join(',')}`).sort();
}

export function repositoryScope(repository: string, actions: string): string {
  return `repository:${repository}:${actions}`;
}
