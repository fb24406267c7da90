import { BerthError } from '../errors/BerthError.js';
import { findRegistry, loadRegistriesConf, rewrite, type RegistriesConf } from './registriesConf.js';

/** Where to try to pull `host/repository` from, in order: mirrors first, then the (possibly relocated) primary. */
export interface PullSource {
  host: string;
  repository: string;
  insecure: boolean;
  mirror: boolean;
}

function split(name: string): { host: string; repository: string } {
  const slash = name.indexOf('/');
  if (slash < 0) throw new BerthError('CONFIG_INVALID', `registries.conf rewrites to "${name}", which names no repository`);
  return { host: name.slice(0, slash), repository: name.slice(slash + 1) };
}

/**
 * The endpoints for a pull of `host/repository`, by tag or digest. A blocked
 * registry is refused here, before any connection is made.
 */
export function pullSources(host: string, repository: string, byDigest: boolean, conf: RegistriesConf = loadRegistriesConf()): PullSource[] {
  const name = `${host}/${repository}`;
  const entry = findRegistry(conf, name);
  if (!entry) return [{ host, repository, insecure: false, mirror: false }];
  if (entry.blocked) throw new BerthError('POLICY_DENIED', `registry ${host} is blocked in ${conf.path ?? 'registries.conf'}`);
  const out: PullSource[] = [];
  for (const mirror of entry.mirrors) {
    if (mirror.pullFromMirror === 'digest-only' && !byDigest) continue;
    if (mirror.pullFromMirror === 'tag-only' && byDigest) continue;
    out.push({ ...split(rewrite(entry, name, mirror.location)), insecure: mirror.insecure, mirror: true });
  }
  out.push({ ...split(rewrite(entry, name, entry.location)), insecure: entry.insecure, mirror: false });
  return out;
}

/** The endpoint for a push: mirrors are never pushed to; blocked refuses. */
export function pushTarget(host: string, repository: string, conf: RegistriesConf = loadRegistriesConf()): PullSource {
  const sources = pullSources(host, repository, true, { ...conf, registries: conf.registries.map((r) => ({ ...r, mirrors: [] })) });
  return sources[0]!;
}

/**
 * Resolve a short name (`busybox`) for tools that accept one. An alias wins;
 * otherwise a single search registry is used; with several, berth refuses
 * (it never guesses silently which registry a user meant).
 */
export function resolveShortName(name: string, conf: RegistriesConf = loadRegistriesConf()): string {
  const bare = name.split(/[:@]/)[0]!;
  const alias = conf.aliases[bare];
  if (alias) return alias + name.slice(bare.length);
  if (conf.shortNameMode === 'disabled' && conf.unqualifiedSearchRegistries.length > 0) return `${conf.unqualifiedSearchRegistries[0]}/${name}`;
  if (conf.unqualifiedSearchRegistries.length === 1) return `${conf.unqualifiedSearchRegistries[0]}/${name}`;
  if (conf.unqualifiedSearchRegistries.length === 0) {
    throw new BerthError('INVALID_REFERENCE', `short name "${name}": no unqualified-search-registries are configured; use a fully-qualified name such as docker.io/library/${name}`);
  }
  throw new BerthError('INVALID_REFERENCE', `short name "${name}" is ambiguous (it could be in ${conf.unqualifiedSearchRegistries.join(', ')}); use a fully-qualified name or add an alias in ${conf.path ?? 'registries.conf'}`);
}
