import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Grant } from '../auth/access.js';
import type { PullThroughMirror } from '../proxy/pullThroughMirror.js';
import type { RegistryStorage } from '../storage/registryStorage.js';
import type { UploadSessions } from '../storage/uploadSessions.js';

export interface ServerLimits {
  maxManifestBytes: number;
  maxUploadBytes: number;
  /** Advertised as OCI-Chunk-Min-Length; non-final chunks smaller than this are refused. 0 = no minimum. */
  chunkMinLength: number;
  deleteEnabled: boolean;
}

/** Everything one request handler needs. */
export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  query: URLSearchParams;
  storage: RegistryStorage;
  uploads: UploadSessions;
  limits: ServerLimits;
  grant: Grant;
  /** Set in pull-through mirror mode: missing content is fetched from the upstream first. */
  mirror?: PullThroughMirror;
}
