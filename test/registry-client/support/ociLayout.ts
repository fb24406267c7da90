import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';

export interface BuiltBlob {
  digest: string;
  size: number;
  mediaType: string;
}

function sha256(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

function writeBlob(layout: string, data: Buffer, mediaType: string): BuiltBlob {
  const digest = sha256(data);
  mkdirSync(join(layout, 'blobs', 'sha256'), { recursive: true });
  writeFileSync(join(layout, 'blobs', 'sha256', digest.slice(7)), data);
  return { digest, size: data.length, mediaType };
}

/** A gzip tar layer holding one file of `size` bytes (random when `random`, so that it does not compress away). */
export async function makeLayer(files: Array<{ name: string; content: Buffer }>): Promise<Buffer> {
  const tar = pack();
  const chunks: Buffer[] = [];
  tar.on('data', (c: unknown) => {
    chunks.push(c as Buffer);
  });
  const done = new Promise<void>((resolve, reject) => {
    tar.on('end', () => resolve());
    tar.on('error', reject);
  });
  for (const file of files) {
    await new Promise<void>((resolve, reject) => tar.entry({ name: file.name, size: file.content.length, mode: 0o644, mtime: new Date(0) }, file.content, (err) => (err ? reject(err) : resolve())));
  }
  tar.finalize();
  await done;
  return gzipSync(Buffer.concat(chunks), { level: 1 });
}

export interface ImageSpec {
  /** Layer contents: each becomes one gzip tar layer. */
  layers: Array<Array<{ name: string; content: Buffer }>>;
  architecture?: string;
  os?: string;
  /** A label making the config (and so the digest) unique. */
  label?: string;
}

/** Write one image (config + layers + manifest) into the layout's blobs; returns the manifest descriptor. */
export async function writeImage(layout: string, spec: ImageSpec): Promise<BuiltBlob & { platform: { os: string; architecture: string } }> {
  const layers: BuiltBlob[] = [];
  const diffIds: string[] = [];
  for (const files of spec.layers) {
    const gz = await makeLayer(files);
    const { gunzipSync } = await import('node:zlib');
    diffIds.push(sha256(gunzipSync(gz)));
    layers.push(writeBlob(layout, gz, 'application/vnd.oci.image.layer.v1.tar+gzip'));
  }
  const platform = { os: spec.os ?? 'linux', architecture: spec.architecture ?? 'amd64' };
  const config = {
    ...platform,
    config: { Env: ['PATH=/bin'], Cmd: ['/bin/sh'], Labels: spec.label ? { 'test.label': spec.label } : undefined },
    rootfs: { type: 'layers', diff_ids: diffIds },
    created: '2024-01-01T00:00:00Z',
  };
  const configBlob = writeBlob(layout, Buffer.from(JSON.stringify(config)), 'application/vnd.oci.image.config.v1+json');
  const manifest = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: configBlob.mediaType, digest: configBlob.digest, size: configBlob.size },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
  };
  return { ...writeBlob(layout, Buffer.from(JSON.stringify(manifest)), manifest.mediaType), platform };
}

/** Create an OCI layout at `layout` whose index.json names each entry by tag. */
export function writeLayoutIndex(layout: string, entries: Array<{ tag: string; descriptor: BuiltBlob & { platform?: unknown } }>): void {
  mkdirSync(layout, { recursive: true });
  writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const manifests = entries.map((e) => ({ mediaType: e.descriptor.mediaType, digest: e.descriptor.digest, size: e.descriptor.size, annotations: { 'org.opencontainers.image.ref.name': e.tag } }));
  writeFileSync(join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests }));
}

/** A single-image layout tagged `tag`, with small random layers. */
export async function singleImageLayout(layout: string, tag: string, layerSizes: number[] = [2048, 4096], label = tag): Promise<BuiltBlob> {
  const image = await writeImage(layout, { layers: layerSizes.map((size, i) => [{ name: `file${i}`, content: randomBytes(size) }]), label });
  writeLayoutIndex(layout, [{ tag, descriptor: image }]);
  return image;
}

/** An index with two platforms (linux/amd64, linux/arm64) tagged `tag`. */
export async function twoPlatformLayout(layout: string, tag: string): Promise<{ index: BuiltBlob; instances: BuiltBlob[] }> {
  const amd = await writeImage(layout, { layers: [[{ name: 'amd', content: randomBytes(3000) }]], architecture: 'amd64', label: 'amd64' });
  const arm = await writeImage(layout, { layers: [[{ name: 'arm', content: randomBytes(3000) }]], architecture: 'arm64', label: 'arm64' });
  const index = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [amd, arm].map((m) => ({ mediaType: m.mediaType, digest: m.digest, size: m.size, platform: m.platform })),
  };
  const indexBlob = writeBlob(layout, Buffer.from(JSON.stringify(index)), index.mediaType);
  writeLayoutIndex(layout, [{ tag, descriptor: indexBlob }]);
  return { index: indexBlob, instances: [amd, arm] };
}
