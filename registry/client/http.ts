import { createRequire } from 'node:module';
import type { Dispatcher } from 'undici';

/**
 * The parts of undici a registry client uses: an Agent (a proxy agent only when a proxy is set) and request().
 * undici's index module loads everything undici has (fetch, WebSocket, mocks, caches: ~130 files, ~50 ms of
 * start-up on every copy); these modules are the ones that index itself combines for request(), and the version
 * is pinned by package-lock.json.
 */
const require = createRequire(import.meta.url);

type AgentClass = new (options?: object) => Dispatcher;

const DispatcherBase = require('undici/lib/dispatcher/dispatcher.js') as { prototype: object };
const api = require('undici/lib/api/index.js') as object;
if (!('request' in DispatcherBase.prototype)) Object.assign(DispatcherBase.prototype, api);

export const Agent = require('undici/lib/dispatcher/agent.js') as AgentClass;

/** undici's connector: a function that opens the socket (TLS for https:) for a pool. */
export type Connector = (options: { protocol: string; hostname: string; host?: string; port: string; servername?: string }, callback: (err: Error | null, socket: unknown) => void) => void;

export function loadConnector(): (options: object) => Connector {
  return require('undici/lib/core/connect.js') as (options: object) => Connector;
}

export function loadEnvHttpProxyAgent(): AgentClass {
  return require('undici/lib/dispatcher/env-http-proxy-agent.js') as AgentClass;
}

export type RequestOptions = Omit<Dispatcher.RequestOptions, 'origin' | 'path'> & { dispatcher: Dispatcher };

/** undici's request(url, options) on a given dispatcher. */
export function request(url: URL, { dispatcher, ...options }: RequestOptions): Promise<Dispatcher.ResponseData> {
  return dispatcher.request({ ...options, origin: url.origin, path: `${url.pathname}${url.search}` });
}
