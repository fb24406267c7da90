import type { Descriptor } from '../oci/descriptor.js';
import type { Digest } from '../oci/digest.js';
import type { DockerReference } from '../reference/dockerReference.js';

/** A manifest as a store holds it, with the digest of its bytes (computed, never taken on trust). */
export interface StoredManifest {
  bytes: Buffer;
  mediaType: string;
  digest: Digest;
}

/**
 * What signature storage needs from wherever images live: tags, manifests,
 * small blobs and the OCI 1.1 referrers of a digest. Kept this narrow so an
 * OCI layout and a registry implement it without either one's internals
 * leaking into signing, and so the copy pipeline can carry signatures between
 * any two of them.
 */
export interface ArtifactStore {
  /** Where this is, for messages: `oci:/dir`, `docker://host/repo`. */
  readonly description: string;
  /** A tag or digest; undefined when it does not exist. */
  getManifest(tagOrDigest: string): Promise<StoredManifest | undefined>;
  /** A small blob (signature payloads), verified against the descriptor's digest and size. */
  getSmallBlob(descriptor: Descriptor, maxBytes: number): Promise<Buffer>;
  putBlob(bytes: Buffer, mediaType: string): Promise<Descriptor>;
  /** Store a manifest; with a tag, point the tag at it. Returns its digest. */
  putManifest(bytes: Buffer, mediaType: string, tag?: string): Promise<Digest>;
  /** Manifests whose `subject` is `digest` (OCI 1.1 referrers), optionally of one artifactType. */
  listReferrers(digest: Digest, artifactType?: string): Promise<Descriptor[]>;
  /** Called after a referrer manifest was stored, for stores that must index referrers themselves. */
  recordReferrer?(subject: Digest, referrer: Descriptor): Promise<void>;
}

/** Hard limit for anything signature-related read from a store: payloads and signature manifests are tiny. */
export const MAX_SIGNATURE_BLOB_BYTES = 4 * 1024 * 1024;

/**
 * Where an image reference keeps its signatures and how containers-policy.json names it: a capability a
 * transport offers (ImageReference.signatureStorage), so that signing, verifying, carrying signatures on a
 * copy and the trust policy never ask which transport they hold. A transport without it carries no signatures.
 */
export interface SignatureStorage {
  /** The transport's name, as policy.json's `transports` keys spell it. */
  readonly transport: string;
  /** For messages: `docker://host/repo`, `oci:/dir`. */
  readonly description: string;
  /** The scopes policy.json looks this image up under, most specific first. */
  readonly policyScopes: string[];
  /** The registry name the image is known by: identity rules, and where registries.d puts its lookaside storage. */
  readonly dockerReference?: DockerReference;
  /** Where cosign attachments (`.sig` manifests, OCI 1.1 referrers) are read and written. */
  readonly artifacts?: ArtifactStore;
  /**
   * cosign attachments go inside what the destination's commit writes (an oci-archive holds them in its
   * layout, as `cosign save` does): they are stored through the open destination (ImageDestination.signatureStorage)
   * before it commits, not through `artifacts` after.
   */
  readonly artifactsWhileWriting?: boolean;
  /** OpenPGP simple signatures kept with the image itself (dir:), where there is no registry lookaside. */
  readonly simpleSignatures?: SimpleSignatureStore;
  /** The manifest the reference names, as `artifacts` holds it (what `berth sign` signs). */
  image?(): Promise<StoredManifest>;
}

/** OpenPGP simple signatures stored beside an image (skopeo's `dir:` keeps them as `signature-N` files). */
export interface SimpleSignatureStore {
  /** Every signature of `digest`, in order. */
  read(digest: Digest): Promise<Buffer[]>;
  /** Add the signatures not stored yet (byte-identical ones are skipped); how many were added. */
  append(digest: Digest, signatures: Buffer[]): Promise<number>;
}
