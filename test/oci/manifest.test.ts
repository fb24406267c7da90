import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseImageConfig } from '../../src/oci/config.js';
import { digestOf } from '../../src/oci/digest.js';
import { parseManifest } from '../../src/oci/manifest.js';
import { MediaType } from '../../src/oci/mediaTypes.js';
import { normalizePlatform, parsePlatform, platformMatches } from '../../src/oci/platform.js';

const desc = (mediaType: string, content = 'x') => ({ mediaType, digest: digestOf(content), size: content.length });
const manifest = (extra: Record<string, unknown> = {}) =>
  Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociManifest, config: desc(MediaType.ociConfig), layers: [desc(MediaType.ociLayerGzip, 'l')], ...extra }));

test('parseManifest reads an OCI manifest and an index, keeping the exact bytes digest', () => {
  const bytes = manifest();
  const parsed = parseManifest(bytes);
  assert.equal(parsed.kind, 'manifest');
  assert.equal(parsed.digest, digestOf(bytes));
  const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.dockerManifestList, manifests: [{ ...desc(MediaType.dockerManifest), platform: { os: 'linux', architecture: 'amd64' } }] }));
  const parsedIndex = parseManifest(index, MediaType.dockerManifestList);
  assert.equal(parsedIndex.kind, 'index');
});

test('parseManifest refuses malformed input with MANIFEST_INVALID', () => {
  const cases: Array<[string, Buffer, string?]> = [
    ['not json', Buffer.from('{nope')],
    ['schemaVersion 1', manifest({ schemaVersion: 1 })],
    ['bad digest', manifest({ config: { mediaType: MediaType.ociConfig, digest: 'sha256:1234', size: 1 } })],
    ['negative size', manifest({ layers: [{ ...desc(MediaType.ociLayer), size: -1 }] })],
    ['fractional size', manifest({ layers: [{ ...desc(MediaType.ociLayer), size: 1.5 }] })],
    ['bad media type', manifest({ layers: [{ ...desc(MediaType.ociLayer), mediaType: 'not a type' }] })],
    ['type disagrees with declared', manifest(), MediaType.dockerManifest],
    ['layers missing', Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociManifest, config: desc(MediaType.ociConfig) }))],
    ['index with layers', Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [], layers: [] }))],
    ['oversize', Buffer.alloc(5 * 1024 * 1024, 32)],
  ];
  for (const [name, bytes, declared] of cases) assert.throws(() => parseManifest(bytes, declared), { code: 'MANIFEST_INVALID' }, name);
});

test('parseImageConfig validates the fields runtimes consume', () => {
  const good = { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [digestOf('a')] }, config: { Cmd: ['/bin/sh'], Env: ['A=1'] } };
  assert.deepEqual(parseImageConfig(Buffer.from(JSON.stringify(good))).config?.Cmd, ['/bin/sh']);
  assert.throws(() => parseImageConfig(Buffer.from(JSON.stringify({ ...good, rootfs: { type: 'layers', diff_ids: ['nope'] } }))), { code: 'CONFIG_INVALID' });
  assert.throws(() => parseImageConfig(Buffer.from(JSON.stringify({ ...good, config: { Cmd: 'sh' } }))), { code: 'CONFIG_INVALID' });
  assert.throws(() => parseImageConfig(Buffer.from('[]')), { code: 'CONFIG_INVALID' });
});

test('platforms normalise as containerd does', () => {
  assert.deepEqual(normalizePlatform({ os: 'linux', architecture: 'x86_64' }), { os: 'linux', architecture: 'amd64' });
  assert.deepEqual(normalizePlatform({ os: 'linux', architecture: 'aarch64' }), { os: 'linux', architecture: 'arm64', variant: 'v8' });
  assert.deepEqual(parsePlatform('linux/arm/7'), { os: 'linux', architecture: 'arm', variant: 'v7' });
  assert.ok(platformMatches(parsePlatform('linux/arm64'), { os: 'linux', architecture: 'arm64', variant: 'v8' }));
  assert.ok(!platformMatches(parsePlatform('linux/arm/v6'), { os: 'linux', architecture: 'arm', variant: 'v7' }));
  assert.throws(() => parsePlatform('linux'), { code: 'USAGE' });
});
