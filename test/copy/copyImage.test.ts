import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeBaseImage, makeMultiPlatformImage } from '../../fixtures/base-image/makeBaseImage.js';
import { copyImage } from '../../src/copy/copyImage.js';
import { parseManifest } from '../../src/oci/manifest.js';
import '../../src/transports/allTransports.js';
import { parseImageReference } from '../../src/transports/transportRegistry.js';
import { berthBin, tempDir } from '../support/peers.js';

const ref = (text: string) => parseImageReference(text);
const indexJson = (dir: string) => JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string; annotations?: Record<string, string> }> };
const blob = (dir: string, digest: string) => readFileSync(join(dir, 'blobs', 'sha256', digest.slice(7)));

test('an index is copied whole with --all, keeping its digest', async (t) => {
  const dir = tempDir(t);
  const { indexDigest, instances } = await makeMultiPlatformImage(join(dir, 'src'));
  const result = await copyImage(ref(`oci:${dir}/src:multi`), ref(`oci:${dir}/dst:multi`), { all: true });
  assert.equal(result.manifestDigest, indexDigest);
  assert.deepEqual(result.instanceDigests, instances);
  for (const digest of instances) assert.ok(existsSync(join(dir, 'dst', 'blobs', 'sha256', digest.slice(7))));
});

test('--platform writes an index of only that platform, never a sparse one', async (t) => {
  const dir = tempDir(t);
  const { indexDigest, instances } = await makeMultiPlatformImage(join(dir, 'src'));
  const result = await copyImage(ref(`oci:${dir}/src:multi`), ref(`oci:${dir}/dst:arm`), { platforms: [{ os: 'linux', architecture: 'arm64' }] });
  assert.notEqual(result.manifestDigest, indexDigest);
  const parsed = parseManifest(blob(join(dir, 'dst'), result.manifestDigest));
  assert.equal(parsed.kind, 'index');
  assert.deepEqual(parsed.kind === 'index' && parsed.index.manifests.map((m) => m.digest), [instances[1]]);
  assert.ok(!existsSync(join(dir, 'dst', 'blobs', 'sha256', (instances[0] as string).slice(7))), 'the amd64 instance must not be copied');
  await assert.rejects(copyImage(ref(`oci:${dir}/src:multi`), ref(`oci:${dir}/dst:x`), { platforms: [{ os: 'linux', architecture: 's390x' }] }), { code: 'PLATFORM_NOT_FOUND' });
  await assert.rejects(copyImage(ref(`oci:${dir}/src:multi`), ref(`oci:${dir}/dst:y`), { platforms: [{ os: 'linux', architecture: 'arm64' }], preserveDigests: true }), { code: 'UNSUPPORTED' });
});

test('without --all an index yields the host platform image', async (t) => {
  const dir = tempDir(t);
  const { instances } = await makeMultiPlatformImage(join(dir, 'src'));
  const result = await copyImage(ref(`oci:${dir}/src:multi`), ref(`oci:${dir}/dst:one`));
  assert.equal(result.manifestDigest, process.arch === 'arm64' ? instances[1] : instances[0]);
});

test('a second copy reuses every blob', async (t) => {
  const dir = tempDir(t);
  await makeBaseImage(join(dir, 'src'), { tag: 'a' });
  const first = await copyImage(ref(`oci:${dir}/src:a`), ref(`oci:${dir}/dst:a`));
  const second = await copyImage(ref(`oci:${dir}/src:a`), ref(`oci:${dir}/dst:b`));
  assert.equal(first.blobsCopied, 2);
  assert.equal(second.blobsCopied, 0);
  assert.equal(second.blobsReused, 2);
  assert.deepEqual(indexJson(join(dir, 'dst')).manifests.map((m) => m.annotations?.['org.opencontainers.image.ref.name']).sort(), ['a', 'b']);
});

test('a corrupted source blob fails the copy and leaves nothing the destination would trust', async (t) => {
  const dir = tempDir(t);
  const image = await makeBaseImage(join(dir, 'src'), { tag: 'a' });
  const layer = parseManifest(image.manifestBytes);
  assert.equal(layer.kind, 'manifest');
  const layerDigest = layer.kind === 'manifest' ? layer.manifest.layers[0]!.digest : '';
  const path = join(dir, 'src', 'blobs', 'sha256', layerDigest.slice(7));
  const bytes = readFileSync(path);
  bytes[bytes.length - 100] = (bytes[bytes.length - 100] ?? 0) ^ 0xff;
  writeFileSync(path, bytes);
  await assert.rejects(copyImage(ref(`oci:${dir}/src:a`), ref(`oci:${dir}/dst:a`)), { code: 'DIGEST_MISMATCH' });
  const stored = existsSync(join(dir, 'dst', 'blobs', 'sha256')) ? readdirSync(join(dir, 'dst', 'blobs', 'sha256')) : [];
  assert.ok(!stored.includes(layerDigest.slice(7)), 'corrupt layer stored under its digest');
  const tags = existsSync(join(dir, 'dst', 'index.json')) ? indexJson(join(dir, 'dst')).manifests : [];
  assert.equal(tags.length, 0, 'a manifest was committed although its layer failed');
});

test('berth copy: bad input is one line on stderr with a meaningful exit status', (t) => {
  const dir = tempDir(t);
  const cases: Array<[string[], number, RegExp]> = [
    [['copy', 'nonsense', `oci:${dir}/x`], 2, /invalid image name "nonsense"/],
    [['copy', `oci:${dir}/missing:tag`, `oci:${dir}/x`], 3, /./],
    [['copy', '--bogus', 'a', 'b'], 2, /unknown flag --bogus/],
    [['copy', 'oci:a'], 2, /expected SOURCE-IMAGE DESTINATION-IMAGE/],
  ];
  for (const [args, status, message] of cases) {
    const run = spawnSync(process.execPath, [berthBin, ...args], { encoding: 'utf8' });
    assert.equal(run.status, status, `${args.join(' ')}: ${run.stderr}`);
    assert.match(run.stderr, message);
    assert.equal(run.stderr.trim().split('\n').length, 1, `one line expected: ${run.stderr}`);
    assert.match(run.stderr, /^berth: /);
  }
});

test('a Docker schema2 image copied into an oci: layout is converted to OCI with the same blobs; --preserve-digests refuses', async (t) => {
  const dir = tempDir(t);
  await makeBaseImage(join(dir, 'src'), { tag: 'a' });
  await copyImage(ref(`oci:${dir}/src:a`), ref(`docker-archive:${dir}/d.tar:localhost/a:1`));
  await assert.rejects(copyImage(ref(`docker-archive:${dir}/d.tar`), ref(`oci:${dir}/dst:a`), { preserveDigests: true }), { code: 'UNSUPPORTED' });
  const result = await copyImage(ref(`docker-archive:${dir}/d.tar`), ref(`oci:${dir}/dst:a`));
  assert.equal(result.mediaType, 'application/vnd.oci.image.manifest.v1+json');
  const written = parseManifest(blob(join(dir, 'dst'), result.manifestDigest));
  assert.equal(written.kind, 'manifest');
  if (written.kind !== 'manifest') return;
  assert.equal(written.manifest.config.mediaType, 'application/vnd.oci.image.config.v1+json');
  for (const layer of written.manifest.layers) {
    assert.equal(layer.mediaType, 'application/vnd.oci.image.layer.v1.tar');
    assert.ok(existsSync(join(dir, 'dst', 'blobs', 'sha256', layer.digest.slice(7))));
  }
});
