import { isFullyQualified } from '../reference/dockerReference.js';
import type { TransportOptions } from '../transports/types.js';

/**
 * A name as podman takes it for pull, push and the local store: fully qualified as written, else resolved by
 * registries.conf (an alias, or the one unqualified-search registry) — never a guessed registry.
 */
export async function qualifiedName(name: string, options: TransportOptions): Promise<string> {
  const bare = name.replace(/^(docker:\/\/|berth:)/, '');
  if (isFullyQualified(bare)) return bare;
  const [{ resolveShortName }, { loadRegistriesConf }] = await Promise.all([import('../registries-conf/pullSources.js'), import('../registries-conf/registriesConf.js')]);
  return resolveShortName(bare, loadRegistriesConf(options.registry?.registriesConf));
}
