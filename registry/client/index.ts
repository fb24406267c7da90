/**
 * The registry client's front door: what other rooms (transports, sign, sync, the CLI) and library callers
 * use. Body reading (body.ts), auth, retries and the connection pools are the client's own.
 */
export { RegistryClient, MANIFEST_ACCEPT, pullScope, pushScope, deleteScope, type ManifestResult, type RegistryResponse, type RequestSpec } from './RegistryClient.js';
export { blobExists, blobStream, headBlob, mountBlob, uploadBlob } from './blobs.js';
export { getSmallFile } from './smallFile.js';
export { DEFAULT_RETRY_TIMES, DEFAULT_RETRY_DELAY_MS, DEFAULT_MAX_RETRY_AFTER_MS, type RegistryOptions } from './options.js';
export { closeDispatchers, isLoopbackHost } from './dispatcher.js';
