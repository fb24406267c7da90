import type { Readable } from 'node:stream';
import type { RegistryOptions } from '../../registry/client/index.js';
import type { Descriptor } from '../oci/descriptor.js';
import type { Digest } from '../oci/digest.js';
import type { SignatureStorage } from './signatures.js';

/** Manifest bytes as stored, with the media type the transport reports for them. */
export interface ManifestBlob {
  bytes: Buffer;
  mediaType: string;
}

/**
 * Options every transport may read; each ignores what does not apply to it.
 * Registry-specific settings live under `registry` so local transports stay simple.
 */
export interface TransportOptions {
  /** For sources that hold several images (docker-archive without a reference): which one, 0-based. */
  sourceIndex?: number;
  /** Registry client settings (credentials, TLS, retries, registries.conf) for docker://. */
  registry?: RegistryOptions;
  /** Where the local store lives; defaults to $BERTH_ROOT or $XDG_DATA_HOME/berth. */
  storeRoot?: string;
}

/** A parsed transport-prefixed reference, e.g. `oci:./layout:tag`. */
export interface ImageReference {
  readonly transport: Transport;
  /** The reference as a user writes it, prefix included (`oci:./layout:tag`). */
  toString(): string;
  /** The part after the transport prefix. */
  readonly within: string;
  /** The docker reference (`docker.io/library/busybox:latest`) this image carries, if any: used for signatures and RepoTags. */
  readonly dockerReference?: string;
  newSource(options?: TransportOptions): Promise<ImageSource>;
  newDestination(options?: TransportOptions): Promise<ImageDestination>;
  /** Remove the image (what `delete`/`rmi` do); transports that cannot delete throw UNSUPPORTED. */
  deleteImage?(options?: TransportOptions, how?: DeleteOptions): Promise<DeleteReport | void>;
  /** A repository's tags, for transports that keep a list of them (a registry); listing never reads an image. */
  listTags?(options?: TransportOptions): Promise<{ repository: string; tags: string[] }>;
  /** The repository and tag this reference names, for transports with tag lists (undefined when it names a digest). */
  readonly repositoryTag?: { repository: string; tag: string } | undefined;
  /**
   * The top-level manifest's digest and media type as the storage reports them without sending the manifest (a
   * registry's HEAD), or null when nothing is stored under this name; from where a pull reads (`source`, mirrors
   * aside) or where a push writes (`destination`). For transports that can tell cheaply (sync skips what is there).
   */
  manifestHead?(options: TransportOptions | undefined, side: 'source' | 'destination'): Promise<{ digest: string; mediaType: string } | null>;
  /** Where this image's signatures live, for transports that can hold them (see SignatureStorage). */
  signatureStorage?(options?: TransportOptions): Promise<SignatureStorage>;
}

/** How far a delete may go: a tag alone, or the manifest with every tag that points at it. */
export interface DeleteOptions {
  allTagsOfDigest?: boolean;
}

/** What a delete removed, where the transport can say more than "done" (a registry). */
export interface DeleteReport {
  /** The manifest digest deleted, when the manifest itself went. */
  deletedDigest?: string;
  /** The tags that no longer exist afterwards. */
  removedTags: string[];
  /** How: a tag delete, or a manifest delete by digest. */
  method: 'tag' | 'digest';
}

export interface Transport {
  readonly name: string;
  parse(within: string): ImageReference;
}

/**
 * Read side of a transport. Everything it returns is untrusted: the copy
 * pipeline parses manifests and verifies every blob stream against its descriptor.
 */
export interface ImageSource {
  readonly reference: ImageReference;
  /** The name the image carries inside the source when the reference does not say it (a docker-archive's RepoTag). */
  readonly dockerReference?: string | undefined;
  /** The top-level manifest (image or index), or one instance of an index by digest. */
  getManifest(instanceDigest?: Digest): Promise<ManifestBlob>;
  /** A stream of the blob's bytes; the caller verifies digest and size. */
  getBlob(descriptor: Descriptor): Promise<Readable>;
  /**
   * The path of a local file holding the blob's bytes, for consumers that read
   * it themselves (unpack reads layers on a worker thread); undefined when the
   * blob is not a plain local file. The bytes are as untrusted as getBlob's.
   */
  blobFile?(descriptor: Descriptor): Promise<string | undefined>;
  close(): Promise<void>;
}

/** What a destination can store; the copy pipeline converts or refuses accordingly. */
export interface DestinationCapabilities {
  /** Can store an index with its instances (oci:, dir:, docker://); docker-archive: cannot. */
  index: boolean;
  /** Manifest media types accepted, in preference order; undefined means any. */
  manifestMediaTypes?: readonly string[];
  /** Whether the destination needs blob sizes known before putBlob (registries can stream). */
  needsKnownSize?: boolean;
  /**
   * False when the format does not keep manifest bytes (docker-archive keeps manifest.json and the config): reading
   * the image back gives another manifest digest, so --preserve-digests cannot hold. Default true.
   */
  keepsManifests?: boolean;
}

/**
 * Write side of a transport. Nothing becomes visible before `commit`, and a
 * blob is only ever stored under a digest it was verified to have.
 */
export interface ImageDestination {
  readonly reference: ImageReference;
  readonly capabilities: DestinationCapabilities;
  /** True when the destination already holds this blob (or made it available, e.g. by a cross-repo mount). */
  tryReuseBlob(descriptor: Descriptor): Promise<boolean>;
  /** Store a blob from a stream; must verify digest and size before making it visible. */
  putBlob(descriptor: Descriptor, content: Readable): Promise<void>;
  /**
   * Store a manifest. With `instanceDigest` it is one instance of an index (stored by digest only);
   * without, it is the top-level manifest the reference names. A destination that keeps no manifests
   * (docker-archive) returns the one it will be read back with, so the copy reports the digest written.
   */
  putManifest(manifest: ManifestBlob, instanceDigest?: Digest): Promise<ManifestBlob | void>;
  /** Where signatures go while this destination is written, for those that hold them inside what commit writes (oci-archive). */
  signatureStorage?(): Promise<SignatureStorage>;
  /** Make everything visible atomically (index.json, tags, archive rename). */
  commit(): Promise<void>;
  /** Release resources; without a prior commit, abandon what was written. */
  close(): Promise<void>;
}
