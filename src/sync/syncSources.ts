import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import type { RegistryOptions } from '../../registry/client/index.js';
import { BerthError } from '../errors/BerthError.js';
import { parseDockerReference, type DockerReference } from '../reference/dockerReference.js';
import { sourceEndpoints } from '../transports/docker/endpoints.js';
import type { TransportOptions } from '../transports/types.js';

// yaml and semver cost ~40 ms to load; only YAML sources and semver filters need them.
const load = createRequire(import.meta.url);
const semverLib = (): typeof import('semver') => load('semver') as typeof import('semver');
const yamlLib = (): typeof import('yaml') => load('yaml') as typeof import('yaml');

/** One image to sync: where it comes from and the name it gets under the destination. */
export interface SyncItem {
  /** Source as a transport reference string (`docker://…`, `dir:…`). */
  source: string;
  /** Path under the destination: `repo:tag` (or `host/ns/repo:tag` with --scoped). */
  suffix: string;
  /** Per-source registry settings (YAML entries may carry their own credentials/TLS). */
  sourceOptions: TransportOptions;
}

export interface TagFilter {
  regex?: RegExp;
  semverRange?: string;
}

/** Normalise a tag for semver matching the way registries' users write versions: `v1.2`, `1.2.3-rc1`. */
export function tagVersion(tag: string): string | undefined {
  const match = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(-[0-9A-Za-z.-]+)?$/.exec(tag);
  if (!match) return undefined;
  return `${match[1]}.${match[2] ?? '0'}.${match[3] ?? '0'}${match[4] ?? ''}`;
}

export function filterTags(tags: string[], filter: TagFilter): string[] {
  const semver = filter.semverRange !== undefined ? semverLib() : undefined;
  let range: import('semver').Range | undefined;
  if (semver && filter.semverRange !== undefined) {
    try {
      range = new semver.Range(filter.semverRange);
    } catch {
      throw new BerthError('USAGE', `invalid semver range "${filter.semverRange}"`);
    }
  }
  return tags.filter((tag) => {
    if (filter.regex && !filter.regex.test(tag)) return false;
    if (semver && range) {
      const version = tagVersion(tag);
      if (!version || !semver.satisfies(version, range)) return false;
    }
    return true;
  });
}

export function compileTagRegex(pattern: string): RegExp {
  try {
    return new RegExp(pattern);
  } catch (err) {
    throw new BerthError('USAGE', `invalid tag regex "${pattern}": ${(err as Error).message}`);
  }
}

function suffixFor(ref: DockerReference, scoped: boolean): string {
  const name = scoped ? `${ref.domain}/${ref.path}` : ref.path.slice(ref.path.lastIndexOf('/') + 1);
  return ref.tag !== undefined ? `${name}:${ref.tag}` : `${name}@${ref.digest}`;
}

/** A docker repository (all tags, filtered) or one image of it. */
export async function dockerSyncItems(input: string, scoped: boolean, filter: TagFilter, options: TransportOptions): Promise<SyncItem[]> {
  const name = input.replace(/^docker:\/\//, '');
  const ref = parseDockerReference(name);
  if (ref.tag !== undefined || ref.digest !== undefined) {
    if (filter.regex || filter.semverRange) throw new BerthError('USAGE', `sync: tag filters apply to a whole repository, but "${input}" names one image`);
    return [{ source: `docker://${name}`, suffix: suffixFor(ref, scoped), sourceOptions: options }];
  }
  const endpoints = sourceEndpoints(ref.domain, ref.path, false, options);
  const endpoint = endpoints[endpoints.length - 1]!;
  const tags = filterTags(await endpoint.client.listTags(endpoint.repository), filter);
  return tags.map((tag) => ({ source: `docker://${ref.domain}/${ref.path}:${tag}`, suffix: suffixFor({ ...ref, tag }, scoped), sourceOptions: options }));
}

/** Every `dir:` image (a directory holding manifest.json) under `root`, named by its path relative to root. */
export function dirSyncItems(root: string, options: TransportOptions): SyncItem[] {
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new BerthError('NOT_FOUND', `sync: source directory ${root} does not exist`);
  const items: SyncItem[] = [];
  const walk = (dir: string): void => {
    if (existsSync(join(dir, 'manifest.json'))) {
      const suffix = relative(root, dir) || dir.split('/').filter(Boolean).pop() || 'image';
      items.push({ source: `dir:${dir}`, suffix, sourceOptions: options });
      return;
    }
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (entry.isDirectory()) walk(join(dir, entry.name));
    }
  };
  walk(root);
  return items;
}

interface YamlRegistry {
  images?: Record<string, string[] | null>;
  'images-by-tag-regex'?: Record<string, string>;
  'images-by-semver'?: Record<string, string>;
  credentials?: { username?: string; password?: string };
  'tls-verify'?: boolean;
  'cert-dir'?: string;
}

/** skopeo sync's YAML: per registry, images (all tags or listed), by tag regex, by semver range, credentials and TLS. */
export async function yamlSyncItems(file: string, scoped: boolean, base: TransportOptions): Promise<SyncItem[]> {
  let doc: unknown;
  try {
    doc = yamlLib().parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new BerthError('CONFIG_INVALID', `sync: ${file}: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new BerthError('CONFIG_INVALID', `sync: ${file} must map registry names to settings`);
  const items: SyncItem[] = [];
  for (const [registry, raw] of Object.entries(doc as Record<string, YamlRegistry>)) {
    const bad = (why: string): BerthError => new BerthError('CONFIG_INVALID', `sync: ${file}: ${registry}: ${why}`);
    if (!raw || typeof raw !== 'object') throw bad('settings must be a mapping');
    const registryOptions: RegistryOptions = { ...base.registry };
    if (raw.credentials) {
      if (typeof raw.credentials.username !== 'string' || typeof raw.credentials.password !== 'string') throw bad('credentials need username and password');
      registryOptions.creds = `${raw.credentials.username}:${raw.credentials.password}`;
      delete registryOptions.registryToken;
    }
    if (raw['tls-verify'] !== undefined) {
      if (typeof raw['tls-verify'] !== 'boolean') throw bad('tls-verify must be true or false');
      registryOptions.tlsVerify = raw['tls-verify'];
    }
    if (raw['cert-dir'] !== undefined) registryOptions.certDir = String(raw['cert-dir']);
    const options: TransportOptions = { ...base, registry: registryOptions as Record<string, unknown> };
    for (const [image, tags] of Object.entries(raw.images ?? {})) {
      if (tags === null || (Array.isArray(tags) && tags.length === 0)) {
        items.push(...(await dockerSyncItems(`${registry}/${image}`, scoped, {}, options)));
      } else if (Array.isArray(tags)) {
        for (const tag of tags) {
          const sep = String(tag).startsWith('sha256:') ? '@' : ':';
          items.push(...(await dockerSyncItems(`${registry}/${image}${sep}${String(tag)}`, scoped, {}, options)));
        }
      } else {
        throw bad(`images.${image} must be a list of tags`);
      }
    }
    for (const [image, pattern] of Object.entries(raw['images-by-tag-regex'] ?? {})) {
      items.push(...(await dockerSyncItems(`${registry}/${image}`, scoped, { regex: compileTagRegex(String(pattern)) }, options)));
    }
    for (const [image, range] of Object.entries(raw['images-by-semver'] ?? {})) {
      items.push(...(await dockerSyncItems(`${registry}/${image}`, scoped, { semverRange: String(range) }, options)));
    }
  }
  return items;
}
