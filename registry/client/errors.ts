import { BerthError, type ErrorCode } from '../../src/errors/BerthError.js';

/** The distribution-spec error codes, mapped onto berth's stable codes. */
const codeMap: Record<string, ErrorCode> = {
  BLOB_UNKNOWN: 'BLOB_UNKNOWN',
  BLOB_UPLOAD_INVALID: 'REGISTRY_ERROR',
  BLOB_UPLOAD_UNKNOWN: 'REGISTRY_ERROR',
  DIGEST_INVALID: 'DIGEST_MISMATCH',
  MANIFEST_BLOB_UNKNOWN: 'BLOB_UNKNOWN',
  MANIFEST_INVALID: 'MANIFEST_INVALID',
  MANIFEST_UNKNOWN: 'MANIFEST_UNKNOWN',
  NAME_INVALID: 'INVALID_REFERENCE',
  NAME_UNKNOWN: 'NAME_UNKNOWN',
  SIZE_INVALID: 'SIZE_MISMATCH',
  TAG_INVALID: 'INVALID_REFERENCE',
  UNAUTHORIZED: 'UNAUTHORIZED',
  DENIED: 'DENIED',
  UNSUPPORTED: 'UNSUPPORTED',
  TOOMANYREQUESTS: 'REGISTRY_ERROR',
};

interface SpecError {
  code?: unknown;
  message?: unknown;
}

/**
 * Turn an unsuccessful registry response into one BerthError line:
 * `registry HOST: WHAT: message (status)`. The body is untrusted and
 * may be anything; only a bounded prefix of it is ever read.
 */
export function responseError(host: string, what: string, status: number, body: string, fallback?: ErrorCode): BerthError {
  let code: ErrorCode | undefined;
  let message: string | undefined;
  try {
    const doc = JSON.parse(body) as { errors?: SpecError[] };
    const first = Array.isArray(doc.errors) ? doc.errors[0] : undefined;
    if (first && typeof first.code === 'string') {
      code = codeMap[first.code];
      message = typeof first.message === 'string' && first.message ? first.message : first.code.toLowerCase().replace(/_/g, ' ');
    }
  } catch {
    // not a spec error document; described by status below
  }
  code ??= statusCode(status) ?? fallback ?? 'REGISTRY_ERROR';
  message ??= statusText(status);
  return new BerthError(code, `registry ${host}: ${what}: ${oneLine(message)} (HTTP ${status})`);
}

function statusCode(status: number): ErrorCode | undefined {
  if (status === 401) return 'UNAUTHORIZED';
  if (status === 403) return 'DENIED';
  if (status === 404) return undefined;
  if (status === 405) return 'UNSUPPORTED';
  return undefined;
}

function statusText(status: number): string {
  const texts: Record<number, string> = {
    400: 'bad request', 401: 'authentication required', 403: 'access denied', 404: 'not found', 405: 'operation not supported by this registry',
    408: 'request timeout', 413: 'payload too large', 416: 'range not satisfiable', 429: 'too many requests', 500: 'internal server error',
    502: 'bad gateway', 503: 'service unavailable', 504: 'gateway timeout',
  };
  return texts[status] ?? 'unexpected response';
}

function oneLine(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 200 ? `${line.slice(0, 197)}...` : line;
}

/** What each of undici's timeouts means to a user (the limits are RegistryOptions.timeouts). */
const timeoutWords: Record<string, string> = {
  UND_ERR_CONNECT_TIMEOUT: 'timed out connecting (connect timeout)',
  UND_ERR_HEADERS_TIMEOUT: 'the registry accepted the request but sent no response (response-header timeout)',
  UND_ERR_BODY_TIMEOUT: 'the registry stopped sending in the middle of the body (idle-body timeout)',
};

/** A network-level failure (reset, refused, timeout, TLS) as one line. */
export function networkError(host: string, what: string, err: unknown): BerthError {
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const detail = e?.cause?.message ?? e?.message ?? String(err);
  const code = e?.cause?.code ?? e?.code;
  const timedOut = code ? timeoutWords[code] : undefined;
  if (timedOut) return new BerthError('TIMEOUT', `registry ${host}: ${what}: ${timedOut}`, { cause: err });
  return new BerthError('NETWORK_ERROR', `registry ${host}: ${what}: ${oneLine(detail)}${code && !detail.includes(code) ? ` (${code})` : ''}`, { cause: err });
}
