import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { BerthError } from '../../errors/BerthError.js';
import { dockerScopes, type DockerReference } from '../../reference/dockerReference.js';

// yaml is ~80 modules (~8 MB resident once loaded): only a registries.d that has files pays for it.
const parseYaml = (text: string): unknown => (createRequire(import.meta.url)('yaml') as typeof import('yaml')).parse(text);

/**
 * containers-registries.d(5): per-scope settings saying where OpenPGP
 * signatures live (`lookaside`, `lookaside-staging`; older names `sigstore`,
 * `sigstore-staging`) and whether cosign attachments are read and written
 * (`use-sigstore-attachments`).
 */
export interface RegistrySignatureConfig {
  lookaside?: string;
  lookasideStaging?: string;
  useSigstoreAttachments?: boolean;
}

export interface RegistriesD {
  defaultDocker?: RegistrySignatureConfig;
  docker: Map<string, RegistrySignatureConfig>;
  /** Files read, for messages. */
  sources: string[];
}

const SYSTEM_REGISTRIES_D = '/etc/containers/registries.d';

/** The user's directory replaces the system one when it exists, as in containers/image. */
function defaultRegistriesDir(): string {
  const user = join(process.env.HOME ?? homedir(), '.config', 'containers', 'registries.d');
  try {
    if (statSync(user).isDirectory()) return user;
  } catch {
    // no user configuration: the system directory applies
  }
  return SYSTEM_REGISTRIES_D;
}

function parseEntry(raw: unknown, where: string): RegistrySignatureConfig {
  if (raw === null || raw === undefined) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new BerthError('USAGE', `${where}: must be a mapping`);
  const doc = raw as Record<string, unknown>;
  const out: RegistrySignatureConfig = {};
  const str = (key: string): string | undefined => {
    const v = doc[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') throw new BerthError('USAGE', `${where}: ${key} must be a URL string`);
    return v;
  };
  const lookaside = str('lookaside') ?? str('sigstore');
  const staging = str('lookaside-staging') ?? str('sigstore-staging');
  if (lookaside !== undefined) out.lookaside = lookaside;
  if (staging !== undefined) out.lookasideStaging = staging;
  const attachments = doc['use-sigstore-attachments'];
  if (attachments !== undefined) {
    if (typeof attachments !== 'boolean') throw new BerthError('USAGE', `${where}: use-sigstore-attachments must be true or false`);
    out.useSigstoreAttachments = attachments;
  }
  return out;
}

/** Read every *.yaml / *.yml file of a registries.d directory; a missing directory is an empty configuration. */
export function loadRegistriesD(dir: string = defaultRegistriesDir()): RegistriesD {
  const config: RegistriesD = { docker: new Map(), sources: [] };
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.yaml') || n.endsWith('.yml')).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return config;
    throw new BerthError('IO_ERROR', `cannot read registries.d directory ${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  for (const name of names) {
    const file = join(dir, name);
    let doc: unknown;
    try {
      doc = parseYaml(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new BerthError('USAGE', `${file}: invalid YAML: ${(err as Error).message.split('\n')[0]}`);
    }
    config.sources.push(file);
    if (doc === null || doc === undefined) continue;
    if (typeof doc !== 'object' || Array.isArray(doc)) throw new BerthError('USAGE', `${file}: must be a mapping`);
    const top = doc as Record<string, unknown>;
    if (top['default-docker'] !== undefined) {
      if (config.defaultDocker) throw new BerthError('USAGE', `${file}: default-docker is defined in more than one file`);
      config.defaultDocker = parseEntry(top['default-docker'], `${file}: default-docker`);
    }
    const docker = top.docker;
    if (docker !== undefined && docker !== null) {
      if (typeof docker !== 'object' || Array.isArray(docker)) throw new BerthError('USAGE', `${file}: docker must be a mapping of scopes`);
      for (const [scope, entry] of Object.entries(docker as Record<string, unknown>)) {
        if (config.docker.has(scope)) throw new BerthError('USAGE', `${file}: scope ${scope} is defined in more than one place`);
        config.docker.set(scope, parseEntry(entry, `${file}: docker.${scope}`));
      }
    }
  }
  return config;
}

function scopedEntries(config: RegistriesD, ref: DockerReference): RegistrySignatureConfig[] {
  const found: RegistrySignatureConfig[] = [];
  for (const scope of dockerScopes(ref)) {
    const entry = config.docker.get(scope);
    if (entry) found.push(entry);
  }
  if (config.defaultDocker) found.push(config.defaultDocker);
  return found;
}

/**
 * The lookaside base URL for a reference: the most specific scope that names
 * one wins, then default-docker. Writing prefers `lookaside-staging` of that scope.
 */
export function lookasideFor(config: RegistriesD, ref: DockerReference, write: boolean): string | undefined {
  for (const entry of scopedEntries(config, ref)) {
    const url = write && entry.lookasideStaging ? entry.lookasideStaging : entry.lookaside;
    if (url) return url;
  }
  return undefined;
}

/**
 * `use-sigstore-attachments` for a reference: the most specific scope that
 * sets it, undefined when none does. containers tools treat unset as false;
 * berth carries cosign attachments unless a scope explicitly says false.
 */
export function useSigstoreAttachmentsFor(config: RegistriesD, ref: DockerReference): boolean | undefined {
  for (const entry of scopedEntries(config, ref)) {
    if (entry.useSigstoreAttachments !== undefined) return entry.useSigstoreAttachments;
  }
  return undefined;
}
