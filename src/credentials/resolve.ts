import { BerthError } from '../errors/BerthError.js';
import { authFileSearchPath, decodeBasicAuth, findAuthEntry, readAuthFile } from './authFiles.js';
import { helperGet } from './credentialHelper.js';
import type { FoundCredentials } from './types.js';

export interface CredentialOptions {
  /** `user:password` from --creds. */
  creds?: string;
  /** --registry-token. */
  registryToken?: string;
  /** --authfile: then only this file is read. */
  authFile?: string;
}

/** The URL docker's helpers and config files use for Docker Hub. */
export function helperServerURL(host: string): string {
  return host === 'docker.io' ? 'https://index.docker.io/v1/' : host;
}

function parseCredsFlag(value: string, flag = '--creds'): { username: string; password: string } {
  const colon = value.indexOf(':');
  if (colon <= 0) throw new BerthError('USAGE', `${flag} must be USERNAME:PASSWORD (or USERNAME: to be asked for nothing)`);
  return { username: value.slice(0, colon), password: value.slice(colon + 1) };
}

/**
 * Find credentials for `host/repository`, in the order skopeo uses:
 * flags, then each auth file (credHelpers, auths, credsStore), first hit wins.
 * No credentials at all is a normal answer (anonymous access).
 */
export async function resolveCredentials(host: string, repository: string | undefined, options: CredentialOptions = {}): Promise<FoundCredentials | undefined> {
  if (options.creds !== undefined) {
    const { username, password } = parseCredsFlag(options.creds);
    return { credentials: { kind: 'basic', username, password }, source: '--creds' };
  }
  if (options.registryToken !== undefined) {
    if (options.registryToken === '') throw new BerthError('USAGE', '--registry-token must not be empty');
    return { credentials: { kind: 'bearer', token: options.registryToken }, source: '--registry-token' };
  }
  for (const path of authFileSearchPath(options.authFile)) {
    const file = readAuthFile(path);
    const helper = file.credHelpers?.[host] ?? (host === 'docker.io' ? file.credHelpers?.['index.docker.io'] : undefined);
    if (helper) {
      const credentials = await helperGet(helper, helperServerURL(host));
      if (credentials) return { credentials, source: `docker-credential-${helper}` };
      continue;
    }
    const found = findAuthEntry(file, host, repository);
    if (found) {
      const where = `${path} (${found.key})`;
      if (found.entry.identitytoken) return { credentials: { kind: 'identityToken', token: found.entry.identitytoken }, source: where };
      if (found.entry.auth) return { credentials: { kind: 'basic', ...decodeBasicAuth(found.entry.auth, where) }, source: where };
      if (found.entry.username !== undefined && found.entry.password !== undefined) {
        return { credentials: { kind: 'basic', username: found.entry.username, password: found.entry.password }, source: where };
      }
    }
    if (file.credsStore) {
      const credentials = await helperGet(file.credsStore, helperServerURL(host));
      if (credentials) return { credentials, source: `docker-credential-${file.credsStore}` };
    }
  }
  return undefined;
}
