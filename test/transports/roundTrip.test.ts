import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { copyImage } from '../../src/copy/copyImage.js';
import '../../src/transports/allTransports.js';
import { parseImageReference } from '../../src/transports/transportRegistry.js';
import type { ImageSource } from '../../src/transports/types.js';
import { peer, tempDir } from '../support/peers.js';
import { buildLayout, buildMultiArchLayout } from '../support/ociImage.js';
import { validateLayout } from './support/ociImageTool.js';

const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function copy(from: string, to: string, all = false) {
  return copyImage(parseImageReference(from), parseImageReference(to), { all });
}

/** What a user sees of an image whatever the format: its config and the uncompressed content of each layer. */
async function content(ref: string): Promise<{ config: string; diffIds: string[]; manifestDigest: string }> {
  const source: ImageSource = await parseImageReference(ref).newSource();
  try {
    const top = await source.getManifest();
    const manifest = JSON.parse(top.bytes.toString()) as { config: { digest: string }; layers: { digest: string; mediaType: string; size: number }[] };
    const diffIds: string[] = [];
    for (const layer of manifest.layers) {
      const chunks: Buffer[] = [];
      for await (const chunk of await source.getBlob(layer as never)) chunks.push(chunk as Buffer);
      const raw = Buffer.concat(chunks);
      diffIds.push(sha256(layer.mediaType.endsWith('gzip') ? gunzipSync(raw) : raw));
    }
    return { config: manifest.config.digest, diffIds, manifestDigest: sha256(top.bytes) };
  } finally {
    await source.close();
  }
}

function unpackTar(file: string, into: string): void {
  mkdirSync(into);
  execFileSync('tar', ['-xf', file, '-C', into]);
}

test('round trip oci: → oci-archive: → docker-archive: → dir: → oci: keeps the image, and the manifest digest where the format allows', async (t) => {
  const dir = tempDir(t);
  const image = await buildLayout(join(dir, 'start'), 'v1', {
    layers: [[{ name: 'etc/hello', content: 'hello\n' }], [{ name: 'bin/tool', content: '#!/bin/sh\necho hi\n', mode: 0o755 }]],
  });
  const archive = join(dir, 'image.oci.tar');
  const dockerTar = join(dir, 'image.docker.tar');

  const r1 = await copy(`oci:${join(dir, 'start')}:v1`, `oci-archive:${archive}:v1`);
  assert.equal(r1.manifestDigest, image.manifest.digest);
  assert.equal((await content(`oci-archive:${archive}:v1`)).manifestDigest, image.manifest.digest, 'oci-archive keeps the OCI manifest byte for byte');

  await copy(`oci-archive:${archive}:v1`, `docker-archive:${dockerTar}:localhost/roundtrip:1`);
  const fromDocker = await content(`docker-archive:${dockerTar}:localhost/roundtrip:1`);
  // docker save has no place for a registry manifest: the source synthesises a Docker schema2 one, so the digest changes.
  assert.notEqual(fromDocker.manifestDigest, image.manifest.digest);
  assert.equal(fromDocker.config, image.config.digest, 'the config survives byte for byte');
  assert.deepEqual(fromDocker.diffIds, image.diffIds, 'every layer keeps its uncompressed content');

  const r3 = await copy(`docker-archive:${dockerTar}:localhost/roundtrip:1`, `dir:${join(dir, 'asdir')}`);
  assert.equal(r3.manifestDigest, fromDocker.manifestDigest);
  assert.equal(sha256(readFileSync(join(dir, 'asdir', 'manifest.json'))), fromDocker.manifestDigest, 'dir: keeps the manifest byte for byte');

  const r4 = await copy(`dir:${join(dir, 'asdir')}`, `oci:${join(dir, 'end')}:v1`);
  // an OCI layout holds OCI manifests: the Docker schema2 one is converted (new digest, same blobs), as skopeo does.
  assert.notEqual(r4.manifestDigest, fromDocker.manifestDigest);
  assert.equal(r4.mediaType, 'application/vnd.oci.image.manifest.v1+json');
  const end = await content(`oci:${join(dir, 'end')}:v1`);
  assert.equal(end.config, image.config.digest);
  assert.deepEqual(end.diffIds, image.diffIds);
});

test('round trip oci: → oci-archive: → dir: → oci: keeps the manifest digest, and every layout berth wrote validates', async (t) => {
  const dir = tempDir(t);
  const image = await buildLayout(join(dir, 'start'), 'v1', { layers: [[{ name: 'a/b/c', content: 'deep\n' }]] });
  await copy(`oci:${join(dir, 'start')}:v1`, `oci-archive:${join(dir, 'x.tar')}:v1`);
  const r2 = await copy(`oci-archive:${join(dir, 'x.tar')}:v1`, `dir:${join(dir, 'd')}`);
  const r3 = await copy(`dir:${join(dir, 'd')}`, `oci:${join(dir, 'end')}:final`);
  assert.equal(r2.manifestDigest, image.manifest.digest);
  assert.equal(r3.manifestDigest, image.manifest.digest);
  const tool = peer(t, 'oci-image-tool');
  if (!tool) return;
  unpackTar(join(dir, 'x.tar'), join(dir, 'x-unpacked'));
  for (const [layout, tag] of [[join(dir, 'x-unpacked'), 'v1'], [join(dir, 'end'), 'final']] as const) {
    const check = validateLayout(tool, layout, tag);
    assert.equal(check.status, 0, `${layout}: ${check.stderr}${check.stdout}`);
  }
});

test('round trip of a multi-platform index through oci-archive: and dir: keeps the index and instance digests', async (t) => {
  const dir = tempDir(t);
  const { index, instances } = await buildMultiArchLayout(join(dir, 'start'), 'multi');
  await copy(`oci:${join(dir, 'start')}:multi`, `oci-archive:${join(dir, 'm.tar')}:multi`, true);
  await copy(`oci-archive:${join(dir, 'm.tar')}:multi`, `dir:${join(dir, 'md')}`, true);
  const back = await copy(`dir:${join(dir, 'md')}`, `oci:${join(dir, 'end')}:multi`, true);
  assert.equal(back.manifestDigest, index.digest);
  assert.deepEqual([...back.instanceDigests].sort(), instances.map((i) => i.manifest.digest).sort());
  const tool = peer(t, 'oci-image-tool');
  if (!tool) return;
  const check = validateLayout(tool, join(dir, 'end'), 'multi');
  assert.equal(check.status, 0, check.stderr);
});

test('round trip docker-archive: → oci: → docker-archive: keeps RepoTags, config and layer files', async (t) => {
  const dir = tempDir(t);
  await buildLayout(join(dir, 'start'), 'v1', { layers: [[{ name: 'f', content: 'x' }], [{ name: 'g', content: 'y' }]], uncompressed: true });
  await copy(`oci:${join(dir, 'start')}:v1`, `docker-archive:${join(dir, 'a.tar')}:example.com/team/app:2`);
  await copy(`docker-archive:${join(dir, 'a.tar')}`, `oci:${join(dir, 'mid')}:m`);
  await copy(`oci:${join(dir, 'mid')}:m`, `docker-archive:${join(dir, 'b.tar')}:example.com/team/app:2`);
  const manifestOf = (file: string) => JSON.parse(execFileSync('tar', ['-xOf', file, 'manifest.json'], { encoding: 'utf8' }));
  assert.deepEqual(manifestOf(join(dir, 'b.tar')), manifestOf(join(dir, 'a.tar')));
  assert.deepEqual(manifestOf(join(dir, 'a.tar'))[0].RepoTags, ['example.com/team/app:2']);
  assert.equal((await content(`docker-archive:${join(dir, 'a.tar')}`)).manifestDigest, (await content(`docker-archive:${join(dir, 'b.tar')}`)).manifestDigest);
});

test('oci: layouts written from Docker schema2 sources are converted to OCI and validate with oci-image-tool', async (t) => {
  const dir = tempDir(t);
  await buildLayout(join(dir, 'start'), 'v1', { layers: [[{ name: 'f', content: 'x' }]] });
  await copy(`oci:${join(dir, 'start')}:v1`, `docker-archive:${join(dir, 'a.tar')}:localhost/x:1`);
  await copy(`docker-archive:${join(dir, 'a.tar')}`, `oci:${join(dir, 'end')}:v1`);
  const tool = peer(t, 'oci-image-tool');
  if (!tool) return;
  const check = validateLayout(tool, join(dir, 'end'), 'v1');
  assert.equal(check.status, 0, check.stderr);
});
