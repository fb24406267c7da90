import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import type { Dispatcher } from 'undici';
import { Agent, EnvHttpProxyAgent, connectorWith, type Connector } from './http.js';
import { tlsConnectionOptions, type TlsSettings } from './tlsTrust.js';
import { BerthError } from '../../src/errors/BerthError.js';
import { DEFAULT_TIMEOUTS, type RegistryTimeouts } from './options.js';

// undici parses HTTP with llhttp compiled to WebAssembly. V8's optimising tier-up of that module
// costs a transient ~35 MB of RSS on the first request, a third of the budget a long copy may use
// (issue 3: a 1 GiB copy under 120 MB). The baseline compiler parses bodies just as fast for our use,
// and compiling each function only when first called (a response uses few of llhttp's) compiles less: one
// A/B of 5 copies of 500 MB gave 63.8 against 66.0 MB peak, about the noise between runs here.
setFlagsFromString('--liftoff-only');
setFlagsFromString('--wasm-lazy-compilation');

const dispatchers = new Map<string, Dispatcher>();

/**
 * One connection pool per TLS setting, shared by every client in the process,
 * so that a sync of many images reuses keep-alive connections. HTTPS_PROXY,
 * HTTP_PROXY and NO_PROXY are honoured when set.
 */
export function dispatcherFor(tlsVerify: boolean, certDir: string | undefined, limits: RegistryTimeouts = {}): Dispatcher {
  const t = { ...DEFAULT_TIMEOUTS, ...limits };
  const key = `${tlsVerify}\0${certDir ?? ''}\0${t.connectMs}\0${t.headersMs}\0${t.bodyIdleMs}`;
  let dispatcher = dispatchers.get(key);
  if (!dispatcher) {
    const tls: TlsSettings = { rejectUnauthorized: tlsVerify, ...(certDir ? tlsFilesFrom(certDir) : {}) };
    const timeouts = { keepAliveTimeout: 30_000, headersTimeout: t.headersMs, bodyTimeout: t.bodyIdleMs };
    const proxied = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy'].some((name) => process.env[name]);
    // Through a proxy, undici takes the registry's TLS options as requestTls (the tunnel's far end).
    dispatcher = proxied
      ? new EnvHttpProxyAgent({ ...timeouts, connect: connectorFor(tls, t.connectMs), requestTls: tlsConnectionOptions(tls) })
      : new Agent({ ...timeouts, connect: connectorFor(tls, t.connectMs) });
    dispatchers.set(key, dispatcher);
  }
  return dispatcher;
}

/** Plain connections need no TLS settings; the first TLS connection builds them (and reads the CA bundles) once. */
function connectorFor(tls: TlsSettings, timeout: number): Connector {
  let plain: Connector | undefined;
  let secure: Connector | undefined;
  return (options, callback) => {
    if (options.protocol !== 'https:') return (plain ??= connectorWith({ timeout }))(options, callback);
    return (secure ??= connectorWith({ ...tlsConnectionOptions(tls), timeout }))(options, callback);
  };
}

/** Close every pool (the CLI does this before exiting so that idle sockets do not hold the process). */
export async function closeDispatchers(): Promise<void> {
  const all = [...dispatchers.values()];
  dispatchers.clear();
  await Promise.allSettled(all.map((d) => d.close()));
}

/** containers-certs.d layout: *.crt are CAs, NAME.cert + NAME.key a client key pair. */
function tlsFilesFrom(dir: string): Omit<TlsSettings, 'rejectUnauthorized'> {
  if (!existsSync(dir)) throw new BerthError('NOT_FOUND', `certificate directory ${dir} does not exist`);
  const names = readdirSync(dir).sort();
  const ca = names.filter((n) => n.endsWith('.crt')).map((n) => readFileSync(join(dir, n), 'utf8'));
  const certName = names.find((n) => n.endsWith('.cert'));
  const out: Omit<TlsSettings, 'rejectUnauthorized'> = {};
  if (ca.length > 0) out.ca = ca;
  if (certName) {
    const keyName = `${certName.slice(0, -'.cert'.length)}.key`;
    if (!names.includes(keyName)) throw new BerthError('CONFIG_INVALID', `${join(dir, certName)} has no matching ${keyName}`);
    out.cert = readFileSync(join(dir, certName), 'utf8');
    out.key = readFileSync(join(dir, keyName), 'utf8');
  }
  return out;
}

/** Loopback registries may speak plain HTTP even with TLS verification on, as docker and skopeo allow. */
export function isLoopbackHost(host: string): boolean {
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d+$/, '');
  return name === 'localhost' || name === '::1' || /^127\.\d+\.\d+\.\d+$/.test(name);
}
