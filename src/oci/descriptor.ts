import { BerthError } from '../errors/BerthError.js';
import { parseDigest, type Digest } from './digest.js';
import type { Platform } from './platform.js';

export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  platform?: Platform;
  artifactType?: string;
  data?: string;
}

const MEDIA_TYPE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;

export function isValidMediaType(value: unknown): value is string {
  return typeof value === 'string' && MEDIA_TYPE.test(value);
}

export function invalid(what: string, why: string): BerthError {
  return new BerthError('MANIFEST_INVALID', `${what}: ${why}`);
}

/** Validate an untrusted descriptor object; `what` names it in errors (e.g. "layer 2"). */
export function parseDescriptor(raw: unknown, what: string): Descriptor {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw invalid(what, 'descriptor must be an object');
  const d = raw as Record<string, unknown>;
  if (!isValidMediaType(d.mediaType)) throw invalid(what, `invalid mediaType ${JSON.stringify(d.mediaType)}`);
  let digest: Digest;
  try {
    digest = parseDigest(d.digest);
  } catch (err) {
    throw invalid(what, (err as Error).message);
  }
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) {
    throw invalid(what, `invalid size ${JSON.stringify(d.size)}`);
  }
  const out: Descriptor = { mediaType: d.mediaType, digest, size: d.size };
  if (d.urls !== undefined) {
    if (!Array.isArray(d.urls) || !d.urls.every((u) => typeof u === 'string')) throw invalid(what, 'urls must be strings');
    out.urls = d.urls as string[];
  }
  if (d.annotations !== undefined) out.annotations = parseAnnotations(d.annotations, what);
  if (d.platform !== undefined) {
    const p = d.platform as Record<string, unknown>;
    if (!p || typeof p !== 'object' || typeof p.os !== 'string' || typeof p.architecture !== 'string') {
      throw invalid(what, 'platform needs os and architecture strings');
    }
    out.platform = p as unknown as Platform;
  }
  if (d.artifactType !== undefined) {
    if (!isValidMediaType(d.artifactType)) throw invalid(what, 'invalid artifactType');
    out.artifactType = d.artifactType;
  }
  if (d.data !== undefined) {
    if (typeof d.data !== 'string') throw invalid(what, 'data must be base64 text');
    out.data = d.data;
  }
  return out;
}

export function parseAnnotations(raw: unknown, what: string): Record<string, string> {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw invalid(what, 'annotations must be an object');
  for (const value of Object.values(raw)) {
    if (typeof value !== 'string') throw invalid(what, 'annotation values must be strings');
  }
  return raw as Record<string, string>;
}
