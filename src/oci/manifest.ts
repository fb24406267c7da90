import { BerthError } from '../errors/BerthError.js';
import { invalid, isValidMediaType, parseAnnotations, parseDescriptor, type Descriptor } from './descriptor.js';
import { digestOf, type Digest } from './digest.js';
import { MediaType, isIndexMediaType, isManifestMediaType } from './mediaTypes.js';

export interface ImageManifest {
  schemaVersion: 2;
  mediaType: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType: string;
  artifactType?: string;
  manifests: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/** A manifest or index exactly as stored, with the bytes its digest covers. */
export type ParsedManifest =
  | { kind: 'manifest'; mediaType: string; digest: Digest; bytes: Buffer; manifest: ImageManifest }
  | { kind: 'index'; mediaType: string; digest: Digest; bytes: Buffer; index: ImageIndex };

/** 4 MiB, the limit registries apply to manifests; larger input is refused before parsing. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/**
 * Parse and validate untrusted manifest bytes. `declaredType` is what the
 * transport says (Content-Type, descriptor mediaType); it must agree with the
 * document's own mediaType when both are present.
 */
export function parseManifest(bytes: Buffer, declaredType?: string): ParsedManifest {
  if (bytes.length > MAX_MANIFEST_BYTES) throw invalid('manifest', `larger than ${MAX_MANIFEST_BYTES} bytes`);
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
  } catch {
    throw invalid('manifest', 'not valid JSON');
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw invalid('manifest', 'not a JSON object');
  if (doc.schemaVersion !== 2) throw invalid('manifest', `unsupported schemaVersion ${JSON.stringify(doc.schemaVersion)}`);
  const ownType = doc.mediaType;
  if (ownType !== undefined && !isValidMediaType(ownType)) throw invalid('manifest', 'invalid mediaType');
  const normalizedDeclared = declaredType?.split(';')[0]?.trim();
  const usefulDeclared = normalizedDeclared && normalizedDeclared !== 'application/json' && normalizedDeclared !== 'application/octet-stream' ? normalizedDeclared : undefined;
  if (ownType !== undefined && usefulDeclared !== undefined && ownType !== usefulDeclared) {
    throw invalid('manifest', `media type ${usefulDeclared} does not match the document's ${ownType as string}`);
  }
  const mediaType = (ownType as string | undefined) ?? usefulDeclared ?? (Array.isArray(doc.manifests) ? MediaType.ociIndex : MediaType.ociManifest);
  const digest = digestOf(bytes);

  if (isIndexMediaType(mediaType)) {
    if (!Array.isArray(doc.manifests)) throw invalid('index', 'manifests must be an array');
    if (doc.config !== undefined || doc.layers !== undefined) throw invalid('index', 'an index has no config or layers');
    const index: ImageIndex = {
      schemaVersion: 2,
      mediaType,
      manifests: doc.manifests.map((m, i) => parseDescriptor(m, `index manifest ${i}`)),
    };
    addCommon(index, doc, 'index');
    return { kind: 'index', mediaType, digest, bytes, index };
  }
  if (isManifestMediaType(mediaType)) {
    if (doc.manifests !== undefined) throw invalid('manifest', 'an image manifest has no manifests list');
    if (!Array.isArray(doc.layers)) throw invalid('manifest', 'layers must be an array');
    const manifest: ImageManifest = {
      schemaVersion: 2,
      mediaType,
      config: parseDescriptor(doc.config, 'config'),
      layers: doc.layers.map((l, i) => parseDescriptor(l, `layer ${i}`)),
    };
    addCommon(manifest, doc, 'manifest');
    return { kind: 'manifest', mediaType, digest, bytes, manifest };
  }
  if (mediaType === MediaType.dockerManifestV1Signed || mediaType === 'application/vnd.docker.distribution.manifest.v1+json') {
    throw new BerthError('UNSUPPORTED', 'Docker schema 1 manifests are not supported');
  }
  throw invalid('manifest', `unsupported media type ${mediaType}`);
}

function addCommon(target: ImageManifest | ImageIndex, doc: Record<string, unknown>, what: string): void {
  if (doc.artifactType !== undefined) {
    if (!isValidMediaType(doc.artifactType)) throw invalid(what, 'invalid artifactType');
    target.artifactType = doc.artifactType;
  }
  if (doc.subject !== undefined) target.subject = parseDescriptor(doc.subject, `${what} subject`);
  if (doc.annotations !== undefined) target.annotations = parseAnnotations(doc.annotations, what);
}

/** The blobs an image manifest needs, config first. */
export function manifestBlobs(manifest: ImageManifest): Descriptor[] {
  return [manifest.config, ...manifest.layers];
}
