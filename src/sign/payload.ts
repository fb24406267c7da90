import { BerthError } from '../errors/BerthError.js';
import { parseDigest, type Digest } from '../oci/digest.js';

/**
 * The "simple signing" payload both signature families sign: cosign's
 * ("cosign container image signature") and containers' OpenPGP one
 * ("atomic container signature"). It binds a manifest digest to a docker
 * reference; what a verifier trusts is decided from these fields only.
 */
export const COSIGN_SIGNATURE_TYPE = 'cosign container image signature';
export const ATOMIC_SIGNATURE_TYPE = 'atomic container signature';

export type SignatureType = typeof COSIGN_SIGNATURE_TYPE | typeof ATOMIC_SIGNATURE_TYPE;

export interface SimpleSigningPayload {
  critical: {
    identity: { 'docker-reference': string };
    image: { 'docker-manifest-digest': Digest };
    type: SignatureType;
  };
  optional: Record<string, unknown> | null;
}

export function makePayload(type: SignatureType, dockerReference: string, digest: Digest, optional?: Record<string, unknown>): Buffer {
  const payload: SimpleSigningPayload = {
    critical: { identity: { 'docker-reference': dockerReference }, image: { 'docker-manifest-digest': digest }, type },
    optional: optional && Object.keys(optional).length > 0 ? optional : null,
  };
  return Buffer.from(JSON.stringify(payload));
}

function bad(why: string): BerthError {
  return new BerthError('SIGNATURE_INVALID', `signature payload: ${why}`);
}

/** Parse an untrusted payload; only called on bytes whose signature already verified, but still checked strictly. */
export function parsePayload(bytes: Buffer, expectedType: SignatureType): SimpleSigningPayload {
  if (bytes.length > 1024 * 1024) throw bad('larger than 1 MiB');
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw bad('not valid JSON');
  }
  if (!isObject(doc)) throw bad('not a JSON object');
  const critical = doc.critical;
  if (!isObject(critical)) throw bad('missing "critical" object');
  for (const key of Object.keys(critical)) {
    if (!['identity', 'image', 'type'].includes(key)) throw bad(`unknown critical field "${key}"`);
  }
  if (critical.type !== expectedType) throw bad(`type is ${JSON.stringify(critical.type)}, expected "${expectedType}"`);
  const reference = isObject(critical.identity) ? critical.identity['docker-reference'] : undefined;
  if (typeof reference !== 'string' || reference.length === 0) throw bad('missing critical.identity.docker-reference');
  let digest: Digest;
  try {
    digest = parseDigest(isObject(critical.image) ? critical.image['docker-manifest-digest'] : undefined);
  } catch (err) {
    throw bad(`critical.image.docker-manifest-digest: ${(err as Error).message}`);
  }
  const optional = doc.optional;
  if (optional !== undefined && optional !== null && (typeof optional !== 'object' || Array.isArray(optional))) throw bad('"optional" must be an object');
  return {
    critical: { identity: { 'docker-reference': reference }, image: { 'docker-manifest-digest': digest }, type: expectedType },
    optional: (optional as Record<string, unknown> | undefined) ?? null,
  };
}

/** Parse `-a key=value` annotations. */
export function parseAnnotationFlags(values: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const value of values) {
    const eq = value.indexOf('=');
    if (eq <= 0) throw new BerthError('USAGE', `annotation "${value}" must be key=value`);
    out[value.slice(0, eq)] = value.slice(eq + 1);
  }
  return out;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
