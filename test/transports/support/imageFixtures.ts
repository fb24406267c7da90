import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip, gzipSync } from 'node:zlib';
import * as tar from 'tar-stream';

/**
 * Test images built by hand (tar-stream + zlib), so the transport tests do not
 * depend on berth's own layer code: what they check is independent of it.
 */

export interface FixtureFile {
  name: string;
  content: string | Buffer;
  mode?: number;
}

export interface FixtureDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: { os: string; architecture: string; variant?: string };
}

export interface FixtureImage {
  manifest: FixtureDescriptor;
  config: FixtureDescriptor;
  layers: FixtureDescriptor[];
  diffIds: string[];
}

const sha256 = (data: Buffer | string): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

/** An uncompressed tar of `files` (deterministic: fixed mtime, root owner). */
export async function tarOf(files: FixtureFile[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (chunk: unknown) => {
    chunks.push(chunk as Buffer);
  });
  const done = new Promise<void>((resolve, reject) => {
    pack.on('end', resolve);
    pack.on('error', reject);
  });
  for (const file of files) {
    pack.entry({ name: file.name, mode: file.mode ?? 0o644, mtime: new Date(0), uid: 0, gid: 0 }, file.content);
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

export async function initLayout(dir: string): Promise<void> {
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [] }));
}

export async function putBlob(dir: string, data: Buffer): Promise<string> {
  const digest = sha256(data);
  await writeFile(join(dir, 'blobs', 'sha256', digest.slice(7)), data);
  return digest;
}

export async function addIndexEntry(dir: string, entry: FixtureDescriptor): Promise<void> {
  const { readFile } = await import('node:fs/promises');
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as { manifests: FixtureDescriptor[] };
  index.manifests.push(entry);
  await writeFile(join(dir, 'index.json'), JSON.stringify(index));
}

export interface ImageSpec {
  /** Layers as file lists; each becomes a gzip layer. */
  layers: FixtureFile[][];
  architecture?: string;
  cmd?: string[];
  /** Uncompressed layers (application/vnd.oci.image.layer.v1.tar) instead of gzip. */
  uncompressed?: boolean;
}

/** Write the blobs of one image (layers, config, manifest) into a layout; does not touch index.json. */
export async function writeImageBlobs(dir: string, spec: ImageSpec): Promise<FixtureImage> {
  const layers: FixtureDescriptor[] = [];
  const diffIds: string[] = [];
  for (const files of spec.layers) {
    const raw = await tarOf(files);
    diffIds.push(sha256(raw));
    const blob = spec.uncompressed ? raw : gzipSync(raw);
    const mediaType = spec.uncompressed ? 'application/vnd.oci.image.layer.v1.tar' : 'application/vnd.oci.image.layer.v1.tar+gzip';
    layers.push({ mediaType, digest: await putBlob(dir, blob), size: blob.length });
  }
  return writeConfigAndManifest(dir, layers, diffIds, spec);
}

async function writeConfigAndManifest(dir: string, layers: FixtureDescriptor[], diffIds: string[], spec: { architecture?: string; cmd?: string[] }): Promise<FixtureImage> {
  const configBytes = Buffer.from(
    JSON.stringify({
      created: '2024-01-01T00:00:00Z',
      architecture: spec.architecture ?? 'amd64',
      os: 'linux',
      config: { Cmd: spec.cmd ?? ['/bin/sh'], Env: ['PATH=/bin'] },
      rootfs: { type: 'layers', diff_ids: diffIds },
      history: diffIds.map(() => ({ created: '2024-01-01T00:00:00Z', created_by: 'berth test fixture' })),
    }),
  );
  const config: FixtureDescriptor = { mediaType: 'application/vnd.oci.image.config.v1+json', digest: await putBlob(dir, configBytes), size: configBytes.length };
  const manifestBytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers }));
  const manifest: FixtureDescriptor = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: await putBlob(dir, manifestBytes), size: manifestBytes.length };
  return { manifest, config, layers, diffIds };
}

/** A fresh layout holding one image tagged `tag`. */
export async function buildLayout(dir: string, tag: string | undefined, spec: ImageSpec): Promise<FixtureImage> {
  await initLayout(dir);
  const image = await writeImageBlobs(dir, spec);
  await addIndexEntry(dir, tag === undefined ? image.manifest : { ...image.manifest, annotations: { 'org.opencontainers.image.ref.name': tag } });
  return image;
}

/** A layout holding a two-platform index (amd64 + arm64) tagged `tag`. */
export async function buildMultiArchLayout(dir: string, tag: string): Promise<{ index: FixtureDescriptor; instances: FixtureImage[] }> {
  await initLayout(dir);
  const amd = await writeImageBlobs(dir, { layers: [[{ name: 'arch', content: 'amd64\n' }]], architecture: 'amd64' });
  const arm = await writeImageBlobs(dir, { layers: [[{ name: 'arch', content: 'arm64\n' }]], architecture: 'arm64' });
  const indexBytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        { ...amd.manifest, platform: { os: 'linux', architecture: 'amd64' } },
        { ...arm.manifest, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
      ],
    }),
  );
  const index: FixtureDescriptor = { mediaType: 'application/vnd.oci.image.index.v1+json', digest: await putBlob(dir, indexBytes), size: indexBytes.length };
  await addIndexEntry(dir, { ...index, annotations: { 'org.opencontainers.image.ref.name': tag } });
  return { index, instances: [amd, arm] };
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
 * A layout with one image whose single layer is a tar holding one file of
 * `fileBytes` random bytes, streamed to disk and hashed on the way (never held
 * in memory). Uncompressed unless `gzip` is set.
 */
export async function buildLayoutWithBigLayer(dir: string, tag: string, fileBytes: number, gzip = false): Promise<FixtureImage> {
  await initLayout(dir);
  const pack = tar.pack();
  const entry = pack.entry({ name: 'big.bin', size: fileBytes, mode: 0o644, mtime: new Date(0) });
  const fill = pipeline(randomStream(fileBytes), entry).then(() => pack.finalize());
  const diff = createHash('sha256');
  const blob = createHash('sha256');
  let size = 0;
  const temp = join(dir, 'blobs', 'sha256', 'layer.partial');
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
  const mediaType = gzip ? 'application/vnd.oci.image.layer.v1.tar+gzip' : 'application/vnd.oci.image.layer.v1.tar';
  const image = await writeConfigAndManifest(dir, [{ mediaType, digest, size }], [`sha256:${diff.digest('hex')}`], {});
  await addIndexEntry(dir, { ...image.manifest, annotations: { 'org.opencontainers.image.ref.name': tag } });
  return image;
}
