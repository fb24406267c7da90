/**
 * `berth/registry`: a distribution-spec client for one registry host, and the embedded registry server.
 * Copying images to and from registries is `copyImage` over `docker://` references (package `berth`).
 */
export { RegistryClient, closeDispatchers, type RegistryOptions, type ManifestResult } from './client/index.js';
export { startRegistryServer, collectGarbage, type RegistryServerOptions, type RunningRegistry, type RegistryAuthOptions, type TokenAuthConfig, type AccessRule, type GcOptions, type GcReport } from './server/index.js';
