/** The embedded OCI registry server: start it in-process, or collect garbage in its storage. */
export { startRegistryServer, parseAddr, type RegistryServerOptions, type RunningRegistry, type RegistryAuthOptions } from './startRegistryServer.js';
export type { TokenAuthConfig, AccessRule } from './auth/tokenAuth.js';
export { collectGarbage, type GcOptions, type GcReport } from './gc/collectGarbage.js';
