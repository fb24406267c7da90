/**
 * Every failure berth reports to a user is a BerthError with a stable code.
 * The CLI maps codes to exit codes in one place (src/cli/exitCodes.ts), so
 * library callers can branch on `code` and scripts can branch on the exit status.
 */
export type ErrorCode =
  | 'USAGE'
  | 'DOCKERFILE_INVALID'
  | 'INVALID_REFERENCE'
  | 'UNSUPPORTED_TRANSPORT'
  | 'INVALID_DIGEST'
  | 'DIGEST_MISMATCH'
  | 'SIZE_MISMATCH'
  | 'MANIFEST_INVALID'
  | 'MANIFEST_UNKNOWN'
  | 'BLOB_UNKNOWN'
  | 'NAME_UNKNOWN'
  | 'TAG_UNKNOWN'
  | 'PLATFORM_NOT_FOUND'
  | 'LAYOUT_INVALID'
  | 'ARCHIVE_INVALID'
  | 'UNSAFE_PATH'
  | 'LAYER_INVALID'
  | 'CONFIG_INVALID'
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'REGISTRY_ERROR'
  | 'NETWORK_ERROR'
  | 'TIMEOUT'
  | 'UNSUPPORTED'
  | 'NOT_IMPLEMENTED'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'POLICY_DENIED'
  | 'SIGNATURE_INVALID'
  | 'KEY_INVALID'
  | 'RUNTIME_ERROR'
  | 'COMMAND_NOT_FOUND'
  | 'BUILD_FAILED'
  | 'COMMAND_NOT_EXECUTABLE'
  | 'CONTAINER_NOT_FOUND'
  | 'CONTAINER_STATE'
  | 'IO_ERROR'
  | 'INTERNAL';

export class BerthError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BerthError';
    this.code = code;
  }
}

export function isBerthError(err: unknown, code?: ErrorCode): err is BerthError {
  return err instanceof BerthError && (code === undefined || err.code === code);
}

/** Turn anything thrown (system errors included) into a BerthError with a one-line message. */
export function toBerthError(err: unknown): BerthError {
  if (err instanceof BerthError) return err;
  const sys = err as NodeJS.ErrnoException | undefined;
  if (sys && typeof sys.code === 'string' && typeof sys.syscall === 'string') {
    const where = sys.path ? ` ${sys.path}` : '';
    const code: ErrorCode = sys.code === 'ENOENT' ? 'NOT_FOUND' : sys.code === 'EEXIST' ? 'ALREADY_EXISTS' : 'IO_ERROR';
    return new BerthError(code, `${sys.syscall}${where}: ${describeErrno(sys)}`, { cause: err });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new BerthError('INTERNAL', message.split('\n')[0] ?? 'unknown error', { cause: err });
}

function describeErrno(err: NodeJS.ErrnoException): string {
  const text = err.message.replace(/^[A-Z]+: /, '').split(',')[0] ?? err.code ?? 'error';
  return text.trim();
}
