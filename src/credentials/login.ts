import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { BerthError } from '../errors/BerthError.js';
import { encodeBasicAuth, findAuthEntry, normalizeAuthKey, primaryAuthFile, readAuthFile, type AuthFile } from './authFiles.js';
import { helperErase, helperStore } from './credentialHelper.js';
import { helperServerURL } from './resolve.js';

/**
 * Store a login where skopeo/podman look for it: a credential helper when the
 * file names one for this host (credHelpers or credsStore), else base64 in `auths`.
 * Returns a description of where it went.
 */
export async function storeLogin(key: string, username: string, password: string, authFile?: string): Promise<string> {
  const path = primaryAuthFile(authFile);
  const file = readAuthFile(path);
  const host = key.split('/')[0] ?? key;
  const helper = file.credHelpers?.[host] ?? file.credsStore;
  if (helper) {
    await helperStore(helper, helperServerURL(host), username, password);
    return `docker-credential-${helper}`;
  }
  file.auths ??= {};
  for (const existing of Object.keys(file.auths)) if (normalizeAuthKey(existing) === key) delete file.auths[existing];
  file.auths[key] = { auth: encodeBasicAuth(username, password) };
  writeAuthFile(path, file);
  return path;
}

/** Remove a login; `all` empties the file's auths. Refuses (NOT_FOUND) when there was nothing to remove. */
export async function removeLogin(key: string | undefined, authFile?: string): Promise<string> {
  const path = primaryAuthFile(authFile);
  const file = readAuthFile(path);
  if (key === undefined) {
    file.auths = {};
    writeAuthFile(path, file);
    return path;
  }
  const host = key.split('/')[0] ?? key;
  const helper = file.credHelpers?.[host];
  if (helper) {
    await helperErase(helper, helperServerURL(host));
    return `docker-credential-${helper}`;
  }
  const found = findAuthEntry(file, host, key.includes('/') ? key.slice(host.length + 1) : undefined);
  const exact = found && normalizeAuthKey(found.key) === key ? found : undefined;
  if (!exact) {
    if (file.credsStore) {
      await helperErase(file.credsStore, helperServerURL(host));
      return `docker-credential-${file.credsStore}`;
    }
    throw new BerthError('NOT_FOUND', `not logged into ${key} (${path})`);
  }
  delete file.auths![exact.key];
  writeAuthFile(path, file);
  return path;
}

/** Write through a temp file and rename so a crash never leaves a half-written auth file; mode 0600 as it holds secrets. */
function writeAuthFile(path: string, file: AuthFile): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(file, null, '\t')}\n`, { mode: 0o600 });
  renameSync(temp, path);
}
