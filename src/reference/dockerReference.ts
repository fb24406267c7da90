import { BerthError } from '../errors/BerthError.js';
import { parseDigest, type Digest } from '../oci/digest.js';

/**
 * A docker image reference (distribution/reference grammar), normalised the
 * way docker and containers tools do: `busybox` → `docker.io/library/busybox:latest`.
 */
export interface DockerReference {
  /** Registry host[:port], e.g. `docker.io`, `127.0.0.1:5000`. */
  domain: string;
  /** Repository path within the registry, e.g. `library/busybox`. */
  path: string;
  tag?: string;
  digest?: Digest;
}

const DEFAULT_DOMAIN = 'docker.io';
const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
const OFFICIAL_PREFIX = 'library/';

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DOMAIN_COMPONENT = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$/;
const IPV6 = /^\[[a-fA-F0-9:]+\]$/;
const NAME_TOTAL_LENGTH_MAX = 255;

function invalidRef(input: string, why: string): BerthError {
  return new BerthError('INVALID_REFERENCE', `invalid image reference "${input}": ${why}`);
}

function isValidDomain(domain: string): boolean {
  const colon = domain.lastIndexOf(':');
  let host = domain;
  if (colon > -1 && !domain.endsWith(']')) {
    const port = domain.slice(colon + 1);
    if (!/^\d+$/.test(port)) return false;
    host = domain.slice(0, colon);
  }
  if (IPV6.test(host)) return true;
  return host.split('.').every((part) => DOMAIN_COMPONENT.test(part));
}

/** Split `name` into domain and path as docker does: the first component is a domain only if it looks like one. */
function splitDomain(name: string): { domain: string; path: string } {
  const slash = name.indexOf('/');
  const first = slash === -1 ? '' : name.slice(0, slash);
  if (slash === -1 || (!first.includes('.') && !first.includes(':') && first !== 'localhost' && first.toLowerCase() === first)) {
    return { domain: DEFAULT_DOMAIN, path: name };
  }
  return { domain: first, path: name.slice(slash + 1) };
}

/** Parse a reference. Short names are normalised to docker.io; use `parseNamedReference` to refuse them. */
export function parseDockerReference(input: string): DockerReference {
  if (input.length === 0) throw invalidRef(input, 'empty');
  let rest = input;
  let digest: Digest | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    try {
      digest = parseDigest(rest.slice(at + 1));
    } catch (err) {
      throw invalidRef(input, (err as Error).message);
    }
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const lastColon = rest.lastIndexOf(':');
  if (lastColon > rest.lastIndexOf('/')) {
    tag = rest.slice(lastColon + 1);
    rest = rest.slice(0, lastColon);
    if (!TAG.test(tag)) throw invalidRef(input, `invalid tag "${tag}"`);
  }
  if (rest.length === 0) throw invalidRef(input, 'missing repository name');
  let { domain, path } = splitDomain(rest);
  if (!isValidDomain(domain)) throw invalidRef(input, `invalid registry host "${domain}"`);
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (path.length === 0) throw invalidRef(input, 'missing repository name');
  for (const component of path.split('/')) {
    if (!PATH_COMPONENT.test(component)) {
      throw invalidRef(input, /[A-Z]/.test(component) ? 'repository name must be lowercase' : `invalid path component "${component}"`);
    }
  }
  if (domain === DEFAULT_DOMAIN && !path.includes('/')) path = OFFICIAL_PREFIX + path;
  if (`${domain}/${path}`.length > NAME_TOTAL_LENGTH_MAX) throw invalidRef(input, 'name longer than 255 characters');
  const ref: DockerReference = { domain, path };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return ref;
}

/** Like parseDockerReference, then add `:latest` when neither tag nor digest is given. */
export function parseDockerReferenceWithDefaultTag(input: string): DockerReference {
  const ref = parseDockerReference(input);
  if (ref.tag === undefined && ref.digest === undefined) ref.tag = 'latest';
  return ref;
}

/** Whether the input names its registry explicitly (a fully-qualified name). */
export function isFullyQualified(input: string): boolean {
  const at = input.indexOf('@');
  const name = at === -1 ? input : input.slice(0, at);
  return splitDomain(name).domain !== DEFAULT_DOMAIN || name.startsWith(`${DEFAULT_DOMAIN}/`) || name.startsWith(`${LEGACY_DEFAULT_DOMAIN}/`);
}

export function repositoryName(ref: DockerReference): string {
  return `${ref.domain}/${ref.path}`;
}

/** Full string form: `domain/path[:tag][@digest]`. */
export function formatDockerReference(ref: DockerReference): string {
  let out = repositoryName(ref);
  if (ref.tag !== undefined) out += `:${ref.tag}`;
  if (ref.digest !== undefined) out += `@${ref.digest}`;
  return out;
}

/** Familiar form as docker prints it: `busybox:latest` rather than `docker.io/library/busybox:latest`. */
export function familiarDockerReference(ref: DockerReference): string {
  let name = repositoryName(ref);
  if (ref.domain === DEFAULT_DOMAIN) name = ref.path.startsWith(OFFICIAL_PREFIX) ? ref.path.slice(OFFICIAL_PREFIX.length) : ref.path;
  if (ref.tag !== undefined) name += `:${ref.tag}`;
  if (ref.digest !== undefined) name += `@${ref.digest}`;
  return name;
}

/**
 * The scopes a docker reference is looked up under in containers-policy.json and registries.d, most specific first:
 * repo:tag (or repo@digest), the repository, each parent namespace, the host,
 * then `*.domain` wildcards.
 */
export function dockerScopes(ref: DockerReference): string[] {
  const repo = `${ref.domain}/${ref.path}`;
  const scopes: string[] = [];
  if (ref.digest) scopes.push(`${repo}@${ref.digest}`);
  else if (ref.tag) scopes.push(`${repo}:${ref.tag}`);
  const parts = repo.split('/');
  for (let n = parts.length; n >= 1; n--) scopes.push(parts.slice(0, n).join('/'));
  const host = ref.domain.replace(/:\d+$/, '');
  const labels = host.split('.');
  for (let i = 1; i < labels.length; i++) scopes.push(`*.${labels.slice(i).join('.')}`);
  return scopes;
}
