import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { BerthError } from '../errors/BerthError.js';

/** The subset of containers auth.json / docker config.json berth reads and writes. */
export interface AuthFile {
  auths?: Record<string, { auth?: string; identitytoken?: string; username?: string; password?: string }>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
  [other: string]: unknown;
}

/**
 * The file `login` writes and reads first, as containers tools choose it:
 * --authfile, then $REGISTRY_AUTH_FILE, then $XDG_RUNTIME_DIR/containers/auth.json,
 * then /run/containers/UID/auth.json.
 */
export function primaryAuthFile(explicit?: string): string {
  if (explicit) return explicit;
  if (process.env.REGISTRY_AUTH_FILE) return process.env.REGISTRY_AUTH_FILE;
  if (process.env.XDG_RUNTIME_DIR) return join(process.env.XDG_RUNTIME_DIR, 'containers', 'auth.json');
  return join('/run/containers', String(process.getuid?.() ?? 0), 'auth.json');
}

/** Every file credentials are looked up in, most specific first. An explicit file is the only one read. */
export function authFileSearchPath(explicit?: string): string[] {
  if (explicit) return [explicit];
  const home = process.env.HOME ?? homedir();
  const dockerDir = process.env.DOCKER_CONFIG ?? join(home, '.docker');
  const files = [primaryAuthFile(), join(process.env.XDG_CONFIG_HOME ?? join(home, '.config'), 'containers', 'auth.json'), join(dockerDir, 'config.json')];
  return [...new Set(files)];
}

/** Read an auth file; a missing file is empty, a corrupt one is an error naming the file. */
export function readAuthFile(path: string): AuthFile {
  if (!existsSync(path)) return {};
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new BerthError('CONFIG_INVALID', `auth file ${path} is not valid JSON: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new BerthError('CONFIG_INVALID', `auth file ${path} must hold a JSON object`);
  return doc as AuthFile;
}

/**
 * Normalise an `auths` key: docker writes `https://index.docker.io/v1/`,
 * containers tools write `host` or `host/namespace/repo`.
 */
export function normalizeAuthKey(key: string): string {
  let k = key.replace(/^https?:\/\//, '');
  if (/^[^/]+\/v[12]\/?$/.test(k)) k = k.slice(0, k.indexOf('/'));
  k = k.replace(/\/+$/, '');
  if (k === 'index.docker.io' || k === 'registry-1.docker.io') return 'docker.io';
  return k;
}

/**
 * The `auths` entry for `host/repository`: the longest key that is the
 * repository or one of its namespaces wins, then the bare host.
 */
export function findAuthEntry(file: AuthFile, host: string, repository: string | undefined): { key: string; entry: NonNullable<AuthFile['auths']>[string] } | undefined {
  const auths = file.auths ?? {};
  const candidates: string[] = [];
  if (repository) {
    const parts = `${host}/${repository}`.split('/');
    for (let n = parts.length; n > 1; n--) candidates.push(parts.slice(0, n).join('/'));
  }
  candidates.push(host);
  const normalized = new Map<string, string>();
  for (const key of Object.keys(auths)) if (!normalized.has(normalizeAuthKey(key))) normalized.set(normalizeAuthKey(key), key);
  for (const candidate of candidates) {
    const key = normalized.get(candidate);
    const entry = key !== undefined ? auths[key] : undefined;
    if (key !== undefined && entry) return { key, entry };
  }
  return undefined;
}

export function decodeBasicAuth(encoded: string, where: string): { username: string; password: string } {
  const text = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon < 0) throw new BerthError('CONFIG_INVALID', `${where}: "auth" is not base64 of user:password`);
  return { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

export function encodeBasicAuth(username: string, password: string): string {
  return Buffer.from(`${username}:${password}`, 'utf8').toString('base64');
}
