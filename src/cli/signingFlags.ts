import type { RegistryOptions } from '../../registry/client/index.js';
import { BerthError } from '../errors/BerthError.js';

/** The registry flags the signing commands accept, spelled as skopeo spells them. */
export const REGISTRY_FLAG_NAMES = ['tls-verify', 'creds', 'authfile', 'registry-token'] as const;

export function registryOptionsFromFlags(flags: Record<string, unknown>): RegistryOptions {
  const options: RegistryOptions = {};
  const tls = flags['tls-verify'];
  if (tls !== undefined) {
    if (tls !== 'true' && tls !== 'false') throw new BerthError('USAGE', '--tls-verify takes true or false');
    options.tlsVerify = tls === 'true';
  }
  if (typeof flags.creds === 'string') options.creds = flags.creds;
  if (typeof flags.authfile === 'string') options.authFile = flags.authfile;
  if (typeof flags['registry-token'] === 'string') options.registryToken = flags['registry-token'];
  return options;
}

/** `--registries.d DIR`: minimist reads a dotted flag name as a nested object, so look in both places. */
export function registriesDirFlag(flags: Record<string, unknown>): string | undefined {
  const flat = flags['registries.d'];
  if (typeof flat === 'string') return flat;
  const nested = (flags.registries as { d?: unknown } | undefined)?.d;
  if (nested === undefined) return undefined;
  if (typeof nested !== 'string') throw new BerthError('USAGE', '--registries.d takes a directory');
  return nested;
}
