import type { ErrorCode } from '../errors/BerthError.js';

/**
 * The one place error codes become exit statuses. 1 is a general failure,
 * 2 a usage error (as getopt-style tools do); the rest let scripts tell
 * "not there" from "not trusted" from "bad input".
 */
const exitCodeByError: Partial<Record<ErrorCode, number>> = {
  USAGE: 2,
  DOCKERFILE_INVALID: 2,
  INVALID_REFERENCE: 2,
  UNSUPPORTED_TRANSPORT: 2,
  NOT_FOUND: 3,
  MANIFEST_UNKNOWN: 3,
  BLOB_UNKNOWN: 3,
  NAME_UNKNOWN: 3,
  TAG_UNKNOWN: 3,
  PLATFORM_NOT_FOUND: 3,
  CONTAINER_NOT_FOUND: 3,
  UNAUTHORIZED: 4,
  DENIED: 4,
  POLICY_DENIED: 5,
  SIGNATURE_INVALID: 5,
  DIGEST_MISMATCH: 6,
  SIZE_MISMATCH: 6,
  MANIFEST_INVALID: 6,
  LAYOUT_INVALID: 6,
  ARCHIVE_INVALID: 6,
  UNSAFE_PATH: 6,
  LAYER_INVALID: 6,
  CONFIG_INVALID: 6,
  INVALID_DIGEST: 6,
  NOT_IMPLEMENTED: 7,
  UNSUPPORTED: 7,
  // A container's command that cannot start: podman's (and the shell's) 126 and 127.
  COMMAND_NOT_EXECUTABLE: 126,
  COMMAND_NOT_FOUND: 127,
};

export function exitCodeFor(code: ErrorCode): number {
  return exitCodeByError[code] ?? 1;
}
