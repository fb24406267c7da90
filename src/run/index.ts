/**
 * `berth/runtime`: run an image as a container (what `berth run` does: pull under the trust policy, unpack
 * once into the store's rootfs cache, run with berth-runc or another runc-compatible runtime). The process
 * inherits this program's stdio; the result carries the container's exit status.
 */
export { runImage, type RunImageOptions, type RunImageResult } from './runImage.js';
export { runInRootfs, type OverlayRootfs, type RunInRootfsOptions } from './runInRootfs.js';
