import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { BerthError } from '../errors/BerthError.js';

export type PullFromMirror = 'all' | 'digest-only' | 'tag-only';

export interface MirrorEntry {
  location: string;
  insecure: boolean;
  pullFromMirror: PullFromMirror;
}

export interface RegistryEntry {
  /** What references it applies to: `host`, `host/namespace`, or `*.domain`. */
  prefix: string;
  /** Where those references really live (replaces `prefix`). */
  location: string;
  insecure: boolean;
  blocked: boolean;
  mirrors: MirrorEntry[];
}

/** The parts of containers-registries.conf(5) v2 berth honours. */
export interface RegistriesConf {
  path: string | undefined;
  unqualifiedSearchRegistries: string[];
  shortNameMode: 'enforcing' | 'permissive' | 'disabled';
  aliases: Record<string, string>;
  registries: RegistryEntry[];
}

const EMPTY: RegistriesConf = { path: undefined, unqualifiedSearchRegistries: [], shortNameMode: 'enforcing', aliases: {}, registries: [] };

/** The user's containers configuration directory: $XDG_CONFIG_HOME/containers, else ~/.config/containers. */
function userContainersDir(): string {
  return join(process.env.XDG_CONFIG_HOME ?? join(process.env.HOME ?? homedir(), '.config'), 'containers');
}

/** $CONTAINERS_REGISTRIES_CONF, then ~/.config/containers/registries.conf, then /etc/containers/registries.conf. */
function defaultRegistriesConfPath(): string | undefined {
  if (process.env.CONTAINERS_REGISTRIES_CONF) return process.env.CONTAINERS_REGISTRIES_CONF;
  const user = join(userContainersDir(), 'registries.conf');
  if (existsSync(user)) return user;
  return existsSync('/etc/containers/registries.conf') ? '/etc/containers/registries.conf' : undefined;
}

/** Drop-in directories (containers-registries.conf.d(5)), applied in this order: the system one, then the user's. */
function registriesConfDropInDirs(): string[] {
  return ['/etc/containers/registries.conf.d', join(userContainersDir(), 'registries.conf.d')];
}

const cache = new Map<string, RegistriesConf>();

/** registries.conf (the explicit file, else the default one) with the *.conf drop-ins applied in name order. */
export function loadRegistriesConf(explicit?: string): RegistriesConf {
  const path = explicit ?? defaultRegistriesConfPath();
  const dropInDirs = registriesConfDropInDirs();
  const key = [path ?? '', ...dropInDirs].join('\0');
  const cached = cache.get(key);
  if (cached) return cached;
  let conf = EMPTY;
  if (path !== undefined) {
    if (existsSync(path)) conf = parseRegistriesConf(readFileSync(path, 'utf8'), path);
    else if (explicit) throw new BerthError('NOT_FOUND', `registries configuration ${path} does not exist`);
  }
  for (const file of dropInDirs.flatMap(dropInFiles)) conf = applyDropIn(conf, readFileSync(file, 'utf8'), file);
  cache.set(key, conf);
  return conf;
}

function dropInFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((n) => n.endsWith('.conf')).sort().map((n) => join(dir, n));
}

/**
 * A drop-in overrides what it sets: the search list and the short-name mode when present, aliases one by one, and
 * [[registry]] entries by prefix (others are kept).
 */
function applyDropIn(base: RegistriesConf, text: string, path: string): RegistriesConf {
  const doc = parseTomlDocument(text, path);
  const drop = confFromDocument(doc, path);
  const keys = new Set(Object.keys(doc));
  const replaced = new Set(drop.registries.map((r) => r.prefix));
  return {
    path: base.path ?? path,
    unqualifiedSearchRegistries: keys.has('unqualified-search-registries') ? drop.unqualifiedSearchRegistries : base.unqualifiedSearchRegistries,
    shortNameMode: keys.has('short-name-mode') ? drop.shortNameMode : base.shortNameMode,
    aliases: { ...base.aliases, ...drop.aliases },
    registries: [...base.registries.filter((r) => !replaced.has(r.prefix)), ...drop.registries],
  };
}

/** Parse and check the file; mistakes are CONFIG_INVALID naming the file, never ignored. */
export function parseRegistriesConf(text: string, path: string): RegistriesConf {
  return confFromDocument(parseTomlDocument(text, path), path);
}

function parseTomlDocument(text: string, path: string): Record<string, unknown> {
  try {
    return parseToml(text) as Record<string, unknown>;
  } catch (err) {
    throw new BerthError('CONFIG_INVALID', `${path}: ${(err as Error).message.split('\n')[0]}`);
  }
}

function confFromDocument(doc: Record<string, unknown>, path: string): RegistriesConf {
  const bad = (why: string): BerthError => new BerthError('CONFIG_INVALID', `${path}: ${why}`);
  const strings = (value: unknown, what: string): string[] => {
    if (value === undefined) return [];
    if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw bad(`${what} must be a list of strings`);
    return value as string[];
  };
  const bool = (value: unknown, what: string): boolean => {
    if (value === undefined) return false;
    if (typeof value !== 'boolean') throw bad(`${what} must be true or false`);
    return value;
  };
  if (doc.registries !== undefined && typeof doc.registries === 'object' && !Array.isArray(doc.registries)) {
    throw bad('the v1 format ([registries.search] tables) is not supported; use v2 ([[registry]] tables)');
  }
  const mode = doc['short-name-mode'] ?? 'enforcing';
  if (mode !== 'enforcing' && mode !== 'permissive' && mode !== 'disabled') throw bad(`short-name-mode must be enforcing, permissive or disabled`);
  const aliases: Record<string, string> = {};
  if (doc.aliases !== undefined) {
    if (!doc.aliases || typeof doc.aliases !== 'object') throw bad('[aliases] must be a table');
    for (const [name, value] of Object.entries(doc.aliases)) {
      if (typeof value !== 'string') throw bad(`alias "${name}" must be a string`);
      aliases[name] = value;
    }
  }
  const registries: RegistryEntry[] = [];
  const rawRegistries = doc.registry ?? [];
  if (!Array.isArray(rawRegistries)) throw bad('[[registry]] must be an array of tables');
  rawRegistries.forEach((raw: Record<string, unknown>, i) => {
    const what = `[[registry]] ${i + 1}`;
    const location = raw.location;
    const prefix = raw.prefix ?? location;
    if (typeof prefix !== 'string' || prefix === '') throw bad(`${what} needs a prefix or location`);
    if (location !== undefined && typeof location !== 'string') throw bad(`${what}: location must be a string`);
    if (prefix.startsWith('*.') && location !== undefined && location !== '') throw bad(`${what}: a wildcard prefix cannot have a location`);
    const digestOnly = bool(raw['mirror-by-digest-only'], `${what} mirror-by-digest-only`);
    const rawMirrors = raw.mirror ?? [];
    if (!Array.isArray(rawMirrors)) throw bad(`${what}: mirror must be an array of tables`);
    const mirrors = rawMirrors.map((m: Record<string, unknown>, j): MirrorEntry => {
      if (typeof m.location !== 'string' || m.location === '') throw bad(`${what} mirror ${j + 1} needs a location`);
      const pull = m['pull-from-mirror'] ?? (digestOnly ? 'digest-only' : 'all');
      if (pull !== 'all' && pull !== 'digest-only' && pull !== 'tag-only') throw bad(`${what} mirror ${j + 1}: pull-from-mirror must be all, digest-only or tag-only`);
      return { location: m.location, insecure: bool(m.insecure, `${what} mirror insecure`), pullFromMirror: pull };
    });
    registries.push({
      prefix,
      location: typeof location === 'string' && location !== '' ? location : prefix,
      insecure: bool(raw.insecure, `${what} insecure`),
      blocked: bool(raw.blocked, `${what} blocked`),
      mirrors,
    });
  });
  return { path, unqualifiedSearchRegistries: strings(doc['unqualified-search-registries'], 'unqualified-search-registries'), shortNameMode: mode, aliases, registries };
}

/** The [[registry]] entry with the longest prefix matching `name` (`host/path`), as containers/image chooses it. */
export function findRegistry(conf: RegistriesConf, name: string): RegistryEntry | undefined {
  let best: RegistryEntry | undefined;
  let bestLength = -1;
  for (const entry of conf.registries) {
    if (!prefixMatches(entry.prefix, name)) continue;
    const length = entry.prefix.length;
    if (length > bestLength) {
      best = entry;
      bestLength = length;
    }
  }
  return best;
}

function prefixMatches(prefix: string, name: string): boolean {
  if (prefix.startsWith('*.')) {
    const host = name.split('/')[0] ?? '';
    return host.endsWith(prefix.slice(1));
  }
  return name === prefix || name.startsWith(`${prefix}/`) || name.startsWith(`${prefix}:`) || name.startsWith(`${prefix}@`);
}

/** Replace the matched prefix of `name` with `location` (the prefix-rewriting rule of registries.conf). */
export function rewrite(entry: RegistryEntry, name: string, location: string): string {
  if (entry.prefix.startsWith('*.')) return name;
  return location + name.slice(entry.prefix.length);
}
