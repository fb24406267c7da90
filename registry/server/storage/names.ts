/**
 * The distribution-spec grammar for repository names and tags. Names are used
 * as relative paths under the storage root, so this check is what keeps
 * `..`, `%2e`, absolute paths and `_`-prefixed storage folders out of reach:
 * every path component must start and end with [a-z0-9].
 */
const NAME = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const UPLOAD_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The spec caps a name (with the registry host) at 255 characters. */
const MAX_NAME_LENGTH = 255;

export function isRepositoryName(value: string): boolean {
  return value.length <= MAX_NAME_LENGTH && NAME.test(value);
}

export function isTag(value: string): boolean {
  return TAG.test(value);
}

export function isUploadId(value: string): boolean {
  return UPLOAD_ID.test(value);
}
