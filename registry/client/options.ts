/**
 * How berth talks to one registry. This is the shape of `TransportOptions.registry`
 * (src/transports/types.ts) for the docker:// transport, built from CLI flags by
 * src/cli/registryFlags.ts or by any library caller.
 */
export interface RegistryOptions {
  /** `user:password` (skopeo --creds); wins over every auth file. */
  creds?: string;
  /** Access the registry anonymously, ignoring every auth file and helper (skopeo --no-creds). */
  noCreds?: boolean;
  /** A bearer token used as is (skopeo --registry-token). */
  registryToken?: string;
  /** An auth.json to read instead of the default search path (--authfile, $REGISTRY_AUTH_FILE). */
  authFile?: string;
  /** Verify TLS certificates; false also allows plain HTTP. Default true (localhost may still fall back to HTTP). */
  tlsVerify?: boolean;
  /** Directory with *.crt CA files and *.cert/*.key client key pairs (skopeo --cert-dir). */
  certDir?: string;
  /** How many times a failed request is retried (connection errors, 408, 429, 5xx). Default 3. */
  retryTimes?: number;
  /** First delay between retries in milliseconds; doubles each time unless Retry-After says otherwise. Default 1000. */
  retryDelayMs?: number;
  /** Longest wait honoured from a Retry-After header, in milliseconds. Default 60000. */
  maxRetryAfterMs?: number;
  /** Where containers-registries.conf lives (mirrors, insecure, blocked); default search path otherwise. */
  registriesConf?: string;
  /** Size of the chunks a streamed upload is cut into when the registry asks for chunks (bytes). */
  chunkSize?: number;
  userAgent?: string;
  /**
   * How long to wait, in milliseconds, for a connection (default 10 s, undici's), for a response's headers (default 60 s) and
   * between two pieces of a body (default 60 s): a registry that accepts and then stays silent fails the request
   * (retried as a network error) instead of hanging the job.
   */
  timeouts?: RegistryTimeouts;
}

export interface RegistryTimeouts {
  connectMs?: number;
  headersMs?: number;
  bodyIdleMs?: number;
}

export const DEFAULT_TIMEOUTS: Required<RegistryTimeouts> = { connectMs: 10_000, headersMs: 60_000, bodyIdleMs: 60_000 };

export const DEFAULT_RETRY_TIMES = 3;
export const DEFAULT_RETRY_DELAY_MS = 1000;
export const DEFAULT_MAX_RETRY_AFTER_MS = 60_000;
