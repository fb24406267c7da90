import type { Dispatcher } from 'undici';
import DispatcherBase from 'undici/lib/dispatcher/dispatcher.js';
import api from 'undici/lib/api/index.js';
import AgentClass from 'undici/lib/dispatcher/agent.js';
import buildConnector from 'undici/lib/core/connect.js';
import EnvHttpProxyAgentClass from 'undici/lib/dispatcher/env-http-proxy-agent.js';

/**
 * The parts of undici a registry client uses: an Agent (a proxy agent only when a proxy is set) and request().
 * undici's index module loads everything undici has (fetch, WebSocket, mocks, caches: ~130 files, ~50 ms of
 * start-up on every copy); these modules are the ones that index itself combines for request(), and the version
 * is pinned by package-lock.json. Their declarations are in undiciModules.d.ts; the CLI bundles them
 * (scripts/bundle.mjs).
 */
if (!('request' in DispatcherBase.prototype)) Object.assign(DispatcherBase.prototype, api);

type AgentConstructor = new (options?: object) => Dispatcher;

export const Agent = AgentClass as AgentConstructor;
export const EnvHttpProxyAgent = EnvHttpProxyAgentClass as AgentConstructor;

/** undici's connector: a function that opens the socket (TLS for https:) for a pool. */
export type Connector = (options: { protocol: string; hostname: string; host?: string; port: string; servername?: string }, callback: (err: Error | null, socket: unknown) => void) => void;

export const connectorWith = buildConnector as (options: object) => Connector;

export type RequestOptions = Omit<Dispatcher.RequestOptions, 'origin' | 'path'> & { dispatcher: Dispatcher };

/** undici's request(url, options) on a given dispatcher. */
export function request(url: URL, { dispatcher, ...options }: RequestOptions): Promise<Dispatcher.ResponseData> {
  return dispatcher.request({ ...options, origin: url.origin, path: `${url.pathname}${url.search}` });
}
