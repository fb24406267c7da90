/** The error codes of the distribution spec (plus docker-registry's TOOMANYREQUESTS-style extras we do not need). */
export type SpecErrorCode =
  | 'BLOB_UNKNOWN'
  | 'BLOB_UPLOAD_INVALID'
  | 'BLOB_UPLOAD_UNKNOWN'
  | 'DIGEST_INVALID'
  | 'MANIFEST_BLOB_UNKNOWN'
  | 'MANIFEST_INVALID'
  | 'MANIFEST_UNKNOWN'
  | 'NAME_INVALID'
  | 'NAME_UNKNOWN'
  | 'SIZE_INVALID'
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'UNSUPPORTED'
  | 'RANGE_INVALID';

/**
 * A failure the server answers with a spec error body. Thrown from storage and
 * handlers alike; the dispatcher turns it into `{"errors":[...]}` with `status`.
 */
export class RegistryError extends Error {
  readonly status: number;
  readonly code: SpecErrorCode;
  readonly detail: unknown;
  readonly headers: Record<string, string>;

  constructor(status: number, code: SpecErrorCode, message: string, detail?: unknown, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'RegistryError';
    this.status = status;
    this.code = code;
    this.detail = detail;
    this.headers = headers;
  }
}

export function errorBody(err: RegistryError): string {
  const entry: Record<string, unknown> = { code: err.code, message: err.message };
  if (err.detail !== undefined) entry.detail = err.detail;
  return JSON.stringify({ errors: [entry] });
}
