import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform, type TransformCallback } from 'node:stream';
import { createGzip } from 'node:zlib';
import tar from 'tar-stream';

export interface BuiltLayout {
  dir: string;
  tag: string;
  manifestDigest: string;
  configDigest: string;
  layerDigests: string[];
}

class Hasher extends Transform {
  readonly hash = createHash('sha256');
  bytes = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    done(null, chunk);
  }
}

async function writeBlob(dir: string, data: Buffer): Promise<{ digest: string; size: number }> {
  const hex = createHash('sha256').update(data).digest('hex');
  await writeFile(join(dir, 'blobs', 'sha256', hex), data);
  return { digest: `sha256:${hex}`, size: data.length };
}

/** One gzip'd tar layer holding `files` (name → size in random bytes), streamed so 100 MB layers stay out of memory. */
async function writeLayer(dir: string, files: Record<string, number>): Promise<{ digest: string; size: number; diffId: string }> {
  const pack = tar.pack();
  const raw = new Hasher();
  const hasher = new Hasher();
  const tmp = join(dir, 'blobs', 'sha256', `tmp-${randomBytes(6).toString('hex')}`);
  const done = pipeline(pack, raw, createGzip({ level: 1 }), hasher, createWriteStream(tmp));
  for (const [name, size] of Object.entries(files)) {
    await new Promise<void>((resolve, reject) => {
      const entry = pack.entry({ name, size, mode: 0o644, mtime: new Date(0) }, (err) => (err ? reject(err) : resolve()));
      let left = size;
      const step = (): void => {
        while (left > 0) {
          const n = Math.min(left, 1 << 20);
          left -= n;
          if (!entry.write(randomBytes(n))) {
            entry.once('drain', step);
            return;
          }
        }
        entry.end(() => undefined);
      };
      step();
    });
  }
  pack.finalize();
  await done;
  const hex = hasher.hash.digest('hex');
  await rename(tmp, join(dir, 'blobs', 'sha256', hex));
  return { digest: `sha256:${hex}`, size: (await stat(join(dir, 'blobs', 'sha256', hex))).size, diffId: `sha256:${raw.hash.digest('hex')}` };
}

/**
 * Build a small OCI image layout (oci-layout, index.json, blobs) from scratch:
 * one layer per entry of `layers`, a config and a manifest, tagged `tag`.
 */
export async function buildOciLayout(dir: string, options: { tag?: string; layers?: Record<string, number>[] } = {}): Promise<BuiltLayout> {
  const tag = options.tag ?? 'latest';
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const layerSpecs = options.layers ?? [{ 'hello.txt': 64 }];
  const layers: { digest: string; size: number }[] = [];
  const diffIds: string[] = [];
  for (const files of layerSpecs) {
    const layer = await writeLayer(dir, files);
    layers.push(layer);
    diffIds.push(layer.diffId);
  }
  const config = await writeBlob(dir, Buffer.from(JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    created: '2024-01-01T00:00:00Z',
    config: { Cmd: ['/bin/true'] },
    rootfs: { type: 'layers', diff_ids: diffIds },
  })));
  const manifest = await writeBlob(dir, Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
    layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: l.digest, size: l.size })),
  })));
  await writeFile(join(dir, 'index.json'), JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'org.opencontainers.image.ref.name': tag } }],
  }));
  return { dir, tag, manifestDigest: manifest.digest, configDigest: config.digest, layerDigests: layers.map((l) => l.digest) };
}
