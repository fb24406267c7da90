import { RegistryClient, type RegistryOptions } from '../../../registry/client/index.js';
import { loadRegistriesConf } from '../../registries-conf/registriesConf.js';
import { pullSources, pushTarget, type PullSource } from '../../registries-conf/pullSources.js';
import type { TransportOptions } from '../types.js';

export interface Endpoint {
  client: RegistryClient;
  host: string;
  repository: string;
  mirror: boolean;
}

function clientFor(source: PullSource, options: RegistryOptions): RegistryClient {
  const tlsVerify = source.insecure ? false : options.tlsVerify;
  const settings: RegistryOptions = { ...options };
  if (tlsVerify !== undefined) settings.tlsVerify = tlsVerify;
  delete settings.registriesConf;
  return RegistryClient.for(source.host, settings);
}

/** The endpoints to read `host/repository` from, mirrors first, per registries.conf. */
export function sourceEndpoints(host: string, repository: string, byDigest: boolean, transportOptions?: TransportOptions): Endpoint[] {
  const options = transportOptions?.registry ?? {};
  const conf = loadRegistriesConf(options.registriesConf);
  return pullSources(host, repository, byDigest, conf).map((s) => ({ client: clientFor(s, options), host: s.host, repository: s.repository, mirror: s.mirror }));
}

/** The one endpoint a push or delete goes to (never a mirror). */
export function destinationEndpoint(host: string, repository: string, transportOptions?: TransportOptions): Endpoint {
  const options = transportOptions?.registry ?? {};
  const conf = loadRegistriesConf(options.registriesConf);
  const target = pushTarget(host, repository, conf);
  return { client: clientFor(target, options), host: target.host, repository: target.repository, mirror: false };
}
