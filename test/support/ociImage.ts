import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip, gzipSync } from 'node:zlib';
import * as tar from 'tar-stream';
import { packTar, type TarEntry } from '../../fixtures/tar/packTar.js';

/**
 * Test images built by hand (tar-stream + zlib) into OCI image layouts, so the
 * tests do not depend on berth's own layer or layout code: what they check is
 * independent of it.
 */

export interface FixtureDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: { os: string; architecture: string; variant?: string };
}

export interface FixtureImage {
  manifest: FixtureDescriptor;
  manifestBytes: Buffer;
  config: FixtureDescriptor;
  layers: FixtureDescriptor[];
  diffIds: string[];
}

/** An image together with the layout it was written to. */
export interface LayoutImage extends FixtureImage {
  dir: string;
}

export interface ImageSpec {
  /** Layers as entry lists; each becomes a gzip layer. */
  layers: TarEntry[][];
  architecture?: string;
  os?: string;
  cmd?: string[];
  /** A config label (test.label), to make otherwise equal images differ. */
  label?: string;
  /** Uncompressed layers (application/vnd.oci.image.layer.v1.tar) instead of gzip. */
  uncompressed?: boolean;
}

const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const INDEX = 'application/vnd.oci.image.index.v1+json';
const LAYER_TAR = 'application/vnd.oci.image.layer.v1.tar';
const LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
const REF_NAME = 'org.opencontainers.image.ref.name';

export const sha256 = (data: Buffer | string): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

/** The descriptor with `tag` as its org.opencontainers.image.ref.name. */
export function tagged(descriptor: FixtureDescriptor, tag: string): FixtureDescriptor {
  return { ...descriptor, annotations: { ...descriptor.annotations, [REF_NAME]: tag } };
}

/** Start (or reset) a layout: oci-layout, an empty index.json, the blobs directory. */
export async function initLayout(dir: string): Promise<void> {
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: INDEX, manifests: [] }));
}

export async function putBlob(dir: string, data: Buffer): Promise<string> {
  const digest = sha256(data);
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  await writeFile(join(dir, 'blobs', 'sha256', digest.slice(7)), data);
  return digest;
}

export async function addIndexEntry(dir: string, entry: FixtureDescriptor): Promise<void> {
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as { manifests: FixtureDescriptor[] };
  index.manifests.push(entry);
  await writeFile(join(dir, 'index.json'), JSON.stringify(index));
}

/** Make index.json name exactly these entries, each by its tag (blobs already written stay). */
export async function writeLayoutIndex(dir: string, entries: Array<{ tag: string; descriptor: FixtureDescriptor }>): Promise<void> {
  await initLayout(dir);
  for (const { tag, descriptor } of entries) await addIndexEntry(dir, tagged(descriptor, tag));
}

/** Write the blobs of one image (layers, config, manifest) into a layout; does not touch index.json. */
export async function writeImageBlobs(dir: string, spec: ImageSpec): Promise<FixtureImage> {
  const layers: FixtureDescriptor[] = [];
  const diffIds: string[] = [];
  for (const files of spec.layers) {
    const raw = await packTar(files);
    diffIds.push(sha256(raw));
    const blob = spec.uncompressed ? raw : gzipSync(raw);
    layers.push({ mediaType: spec.uncompressed ? LAYER_TAR : LAYER_GZIP, digest: await putBlob(dir, blob), size: blob.length });
  }
  return writeConfigAndManifest(dir, layers, diffIds, spec);
}

async function writeConfigAndManifest(dir: string, layers: FixtureDescriptor[], diffIds: string[], spec: Omit<ImageSpec, 'layers'>): Promise<FixtureImage> {
  const configBytes = Buffer.from(
    JSON.stringify({
      created: '2024-01-01T00:00:00Z',
      architecture: spec.architecture ?? 'amd64',
      os: spec.os ?? 'linux',
      config: { Cmd: spec.cmd ?? ['/bin/sh'], Env: ['PATH=/bin'], ...(spec.label === undefined ? {} : { Labels: { 'test.label': spec.label } }) },
      rootfs: { type: 'layers', diff_ids: diffIds },
      history: diffIds.map(() => ({ created: '2024-01-01T00:00:00Z', created_by: 'berth test fixture' })),
    }),
  );
  const config: FixtureDescriptor = { mediaType: 'application/vnd.oci.image.config.v1+json', digest: await putBlob(dir, configBytes), size: configBytes.length };
  const manifestBytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MANIFEST, config, layers }));
  const manifest: FixtureDescriptor = { mediaType: MANIFEST, digest: await putBlob(dir, manifestBytes), size: manifestBytes.length };
  return { manifest, manifestBytes, config, layers, diffIds };
}

/** A fresh layout holding one image, tagged `tag` unless that is undefined. */
export async function buildLayout(dir: string, tag: string | undefined, spec: ImageSpec): Promise<LayoutImage> {
  await initLayout(dir);
  const image = await writeImageBlobs(dir, spec);
  await addIndexEntry(dir, tag === undefined ? image.manifest : tagged(image.manifest, tag));
  return { ...image, dir };
}

/** A layout holding a two-platform index (linux/amd64 + linux/arm64/v8) tagged `tag`. */
export async function buildMultiArchLayout(dir: string, tag: string): Promise<{ dir: string; index: FixtureDescriptor; instances: FixtureImage[] }> {
  await initLayout(dir);
  const amd = await writeImageBlobs(dir, { layers: [[{ name: 'arch', content: 'amd64\n' }]], architecture: 'amd64' });
  const arm = await writeImageBlobs(dir, { layers: [[{ name: 'arch', content: 'arm64\n' }]], architecture: 'arm64' });
  const indexBytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: INDEX,
      manifests: [
        { ...amd.manifest, platform: { os: 'linux', architecture: 'amd64' } },
        { ...arm.manifest, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
      ],
    }),
  );
  const index: FixtureDescriptor = { mediaType: INDEX, digest: await putBlob(dir, indexBytes), size: indexBytes.length };
  await addIndexEntry(dir, tagged(index, tag));
  return { dir, index, instances: [amd, arm] };
}

/** Random (incompressible) bytes, produced in chunks so that nothing large is held in memory. */
export function randomStream(total: number, chunk = 1 << 20): Readable {
  let left = total;
  return new Readable({
    read() {
      if (left <= 0) {
        this.push(null);
        return;
      }
      const n = Math.min(chunk, left);
      left -= n;
      this.push(randomBytes(n));
    },
  });
}

/**
 * One layer holding `files` (name → size) of random bytes, streamed to disk and
 * hashed on the way (never held in memory), so layers of hundreds of MB are fine.
 */
export async function writeRandomLayer(dir: string, files: Record<string, number>, gzip: boolean): Promise<FixtureDescriptor & { diffId: string }> {
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  const pack = tar.pack();
  const fill = (async () => {
    for (const [name, size] of Object.entries(files)) await pipeline(randomStream(size), pack.entry({ name, size, mode: 0o644, mtime: new Date(0), uid: 0, gid: 0 }));
    pack.finalize();
  })();
  const diff = createHash('sha256');
  const blob = createHash('sha256');
  let size = 0;
  const temp = join(dir, 'blobs', 'sha256', `layer-${randomBytes(6).toString('hex')}.partial`);
  const tapDiff = new PassThrough();
  tapDiff.on('data', (c: Buffer) => diff.update(c));
  const tapBlob = new PassThrough();
  tapBlob.on('data', (c: Buffer) => {
    blob.update(c);
    size += c.length;
  });
  const stages: NodeJS.ReadWriteStream[] = gzip ? [tapDiff, createGzip({ level: 1 }), tapBlob] : [tapDiff, tapBlob];
  await Promise.all([fill, pipeline(pack, ...(stages as [PassThrough]), createWriteStream(temp))]);
  const digest = `sha256:${blob.digest('hex')}`;
  await rename(temp, join(dir, 'blobs', 'sha256', digest.slice(7)));
  return { mediaType: gzip ? LAYER_GZIP : LAYER_TAR, digest, size, diffId: `sha256:${diff.digest('hex')}` };
}

/**
 * A fresh layout with one image tagged `tag` whose layers hold random files
 * (name → size, one record per layer), gzip unless `uncompressed`.
 */
export async function buildRandomLayout(
  dir: string,
  tag: string,
  layers: Record<string, number>[] = [{ file0: 2048 }, { file1: 4096 }],
  options: Omit<ImageSpec, 'layers'> = {},
): Promise<LayoutImage> {
  await initLayout(dir);
  const written: FixtureDescriptor[] = [];
  const diffIds: string[] = [];
  for (const files of layers) {
    const { diffId, ...layer } = await writeRandomLayer(dir, files, !options.uncompressed);
    written.push(layer);
    diffIds.push(diffId);
  }
  const image = await writeConfigAndManifest(dir, written, diffIds, options);
  await addIndexEntry(dir, tagged(image.manifest, tag));
  return { ...image, dir };
}

/**
 * A layout with one image whose single layer is a tar holding one file of
 * `fileBytes` random bytes, streamed. Uncompressed unless `gzip` is set.
 */
export function buildLayoutWithBigLayer(dir: string, tag: string, fileBytes: number, gzip = false): Promise<LayoutImage> {
  return buildRandomLayout(dir, tag, [{ 'big.bin': fileBytes }], { uncompressed: !gzip });
}
