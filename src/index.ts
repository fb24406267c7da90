/**
 * `berth`: images, transports, the copy pipeline, lazy mutation and layers — the library a Node program
 * uses to move and make images. Everything not exported here (or from `berth/registry`, `berth/sign`,
 * `berth/runtime`) is internal and may change without notice.
 */
import './transports/allTransports.js';

// Errors: every failure is a BerthError with a stable code.
export { BerthError, isBerthError, type ErrorCode } from './errors/BerthError.js';

// OCI model.
export { MediaType, type Compression } from './oci/mediaTypes.js';
export { digestOf, parseDigest, isDigest, DigestingStream, type Digest, type DigestAlgorithm } from './oci/digest.js';
export type { Descriptor } from './oci/descriptor.js';
export { parseManifest, manifestBlobs, type ImageManifest, type ImageIndex, type ParsedManifest } from './oci/manifest.js';
export { parseImageConfig, type ImageConfig, type ContainerConfig, type HistoryEntry } from './oci/config.js';
export { parsePlatform, formatPlatform, hostPlatform, platformMatches, type Platform } from './oci/platform.js';

// References and transports (oci:, oci-archive:, dir:, docker://, docker-archive:, berth:).
export { parseDockerReference, formatDockerReference, type DockerReference } from './reference/dockerReference.js';
export { parseImageReference, getTransport, registerTransport, transportNames } from './transports/transportRegistry.js';
export type { ImageReference, ImageSource, ImageDestination, DestinationCapabilities, ManifestBlob, Transport, TransportOptions } from './transports/types.js';

// Reading images.
export { selectImageManifest, readImageConfig } from './image/selectImage.js';
export { readBlobBytes } from './image/readBlobBytes.js';
export { inspectImage, rawManifest, rawConfig, type InspectOutput, type InspectOptions } from './inspect/inspectImage.js';
export { unpackImage, type UnpackOptions, type UnpackResult } from './bundle/unpackImage.js';

// The copy pipeline and lazy mutation.
export { copyImage, copyFromSource, type CopyOptions, type CopyResult, type CopiedImage } from './copy/copyImage.js';
export type { CopyProgressEvent, ProgressListener } from './copy/progress.js';
export { mutateImage, type ImageMutation } from './image/mutateImage.js';

// Layers.
export { layerFromTar, storedLayer, type NewLayer, type LayerFromTarOptions } from './layer/newLayer.js';
export { createLayerFromDirectory, diffDirectories, type DirectoryLayerOptions, type DiffOptions, type EntryMetadata } from './layer/directoryLayer.js';
export { overlayUpperLayer, type OverlayLayerOptions } from './layer/overlayLayer.js';
export { writeTar, type LayerEntry, type TarWriterOptions } from './layer/tarWriter.js';
export { applyLayer, type ApplyOptions, type ApplyResult } from './layer/applyLayer.js';

// The local store (berth: transport).
export { listStoreImages, type StoredImage } from './transports/store/listStoreImages.js';
