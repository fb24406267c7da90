import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { copyImage } from '../../src/copy/copyImage.js';
import { isBerthError } from '../../src/errors/BerthError.js';
import '../../src/transports/allTransports.js';
import { parseImageReference } from '../../src/transports/transportRegistry.js';
import { tempDir } from '../support/peers.js';
import { packTar, type TarEntry } from '../../fixtures/tar/packTar.js';

const sha256 = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function writeTar(file: string, entries: TarEntry[]): Promise<void> {
  writeFileSync(file, await packTar(entries));
}

function configFor(diffIds: string[], arch = 'amd64'): Buffer {
  return Buffer.from(JSON.stringify({ architecture: arch, os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: diffIds } }));
}

/** The legacy format docker save wrote before 25: `<id>/layer.tar`, shared layers as symlinks, `repositories`. */
async function legacyArchive(file: string): Promise<{ layer1: Buffer; layer2: Buffer; config1: Buffer; config2: Buffer }> {
  const layer1 = await packTar([{ name: 'etc/os-release', content: 'ID=test\n' }]);
  const layer2 = await packTar([{ name: 'app/run', content: 'run\n' }]);
  const config1 = configFor([sha256(layer1), sha256(layer1)]);
  const config2 = configFor([sha256(layer2)], 'arm64');
  const [id1, id2, id3] = ['a'.repeat(64), 'b'.repeat(64), 'c'.repeat(64)];
  await writeTar(file, [
    { name: `${id1}/`, type: 'directory', mode: 0o755 },
    { name: `${id1}/VERSION`, content: '1.0' },
    { name: `${id1}/json`, content: '{}' },
    { name: `${id1}/layer.tar`, content: layer1 },
    { name: `${id2}/layer.tar`, type: 'symlink', linkname: `../${id1}/layer.tar` },
    { name: `${id3}/layer.tar`, content: layer2 },
    { name: `${sha256(config1).slice(7)}.json`, content: config1 },
    { name: `${sha256(config2).slice(7)}.json`, content: config2 },
    {
      name: 'manifest.json',
      content: JSON.stringify([
        { Config: `${sha256(config1).slice(7)}.json`, RepoTags: ['busybox:latest'], Layers: [`${id1}/layer.tar`, `${id2}/layer.tar`] },
        { Config: `${sha256(config2).slice(7)}.json`, RepoTags: ['localhost/other:2'], Layers: [`${id3}/layer.tar`] },
      ]),
    },
    { name: 'repositories', content: JSON.stringify({ busybox: { latest: id2 } }) },
  ]);
  return { layer1, layer2, config1, config2 };
}

async function manifestOf(ref: string): Promise<{ mediaType: string; config: { digest: string; mediaType: string }; layers: { digest: string; size: number; mediaType: string }[] }> {
  const source = await parseImageReference(ref).newSource();
  try {
    return JSON.parse((await source.getManifest()).bytes.toString());
  } finally {
    await source.close();
  }
}

test('docker-archive: reads legacy docker save archives, with symlinked shared layers, by name or @N', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'legacy.tar');
  const { layer1, layer2, config1, config2 } = await legacyArchive(file);
  const busybox = await manifestOf(`docker-archive:${file}:busybox`);
  assert.equal(busybox.mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
  assert.equal(busybox.config.digest, sha256(config1));
  assert.deepEqual(busybox.layers.map((l) => [l.digest, l.size, l.mediaType]), [
    [sha256(layer1), layer1.length, 'application/vnd.docker.image.rootfs.diff.tar'],
    [sha256(layer1), layer1.length, 'application/vnd.docker.image.rootfs.diff.tar'],
  ]);
  assert.equal((await manifestOf(`docker-archive:${file}:localhost/other:2`)).config.digest, sha256(config2));
  const second = await manifestOf(`docker-archive:${file}:@1`);
  assert.deepEqual(second.layers.map((l) => l.digest), [sha256(layer2)]);
  await assert.rejects(manifestOf(`docker-archive:${file}`), (e: Error) => isBerthError(e, 'USAGE') && /2 images/.test(e.message));
  await assert.rejects(manifestOf(`docker-archive:${file}:@2`), (e) => isBerthError(e, 'NOT_FOUND'));
  await assert.rejects(manifestOf(`docker-archive:${file}:nginx`), (e) => isBerthError(e, 'TAG_UNKNOWN'));

  const result = await copyImage(parseImageReference(`docker-archive:${file}:@0`), parseImageReference(`oci:${join(dir, 'out')}:bb`));
  assert.equal(result.blobsCopied, 2, 'the shared layer is copied once, with the config');
  assert.equal(readdirSync(join(dir, 'out', 'blobs', 'sha256')).length, 3);
});

test('docker-archive: reads OCI-style archives (docker 25+: blobs/sha256 members)', async (t) => {
  const dir = tempDir(t);
  const layer = await packTar([{ name: 'hello', content: 'hi\n' }]);
  const config = configFor([sha256(layer)]);
  const file = join(dir, 'oci-style.tar');
  await writeTar(file, [
    { name: 'blobs/', type: 'directory', mode: 0o755 },
    { name: 'blobs/sha256/', type: 'directory', mode: 0o755 },
    { name: `blobs/sha256/${sha256(layer).slice(7)}`, content: layer },
    { name: `blobs/sha256/${sha256(config).slice(7)}`, content: config },
    { name: 'oci-layout', content: '{"imageLayoutVersion":"1.0.0"}' },
    { name: 'index.json', content: '{"schemaVersion":2,"manifests":[]}' },
    { name: 'manifest.json', content: JSON.stringify([{ Config: `blobs/sha256/${sha256(config).slice(7)}`, RepoTags: ['localhost/app:1'], Layers: [`blobs/sha256/${sha256(layer).slice(7)}`] }]) },
  ]);
  const manifest = await manifestOf(`docker-archive:${file}`);
  assert.equal(manifest.config.digest, sha256(config));
  assert.deepEqual(manifest.layers.map((l) => l.digest), [sha256(layer)]);
  const source = await parseImageReference(`docker-archive:${file}`).newSource();
  assert.equal(source.reference.toString(), `docker-archive:${file}`);
  await source.close();
});

test('docker-archive: hostile or broken archives are refused with one clear error and nothing written outside', async (t) => {
  const dir = tempDir(t);
  const layer = await packTar([{ name: 'x', content: 'x' }]);
  const config = configFor([sha256(layer)]);
  const good = (extra: TarEntry[], manifest?: unknown): TarEntry[] => [
    { name: 'layer.tar', content: layer },
    { name: 'config.json', content: config },
    { name: 'manifest.json', content: JSON.stringify(manifest ?? [{ Config: 'config.json', RepoTags: [], Layers: ['layer.tar'] }]) },
    ...extra,
  ];
  const cases: { name: string; members: TarEntry[]; code: string }[] = [
    { name: 'dotdot', members: good([{ name: '../escaped', content: 'x' }]), code: 'ARCHIVE_INVALID' },
    { name: 'absolute-symlink', members: good([{ name: 'evil.tar', type: 'symlink', linkname: '/etc/passwd' }]), code: 'ARCHIVE_INVALID' },
    { name: 'symlink-escape', members: good([{ name: 'evil.tar', type: 'symlink', linkname: '../../../etc/passwd' }]), code: 'ARCHIVE_INVALID' },
    { name: 'missing-layer', members: good([], [{ Config: 'config.json', RepoTags: [], Layers: ['nope.tar'] }]), code: 'ARCHIVE_INVALID' },
    { name: 'layer-outside', members: good([], [{ Config: 'config.json', RepoTags: [], Layers: ['../../etc/passwd'] }]), code: 'ARCHIVE_INVALID' },
    { name: 'diff-ids', members: good([], [{ Config: 'config.json', RepoTags: [], Layers: ['layer.tar', 'layer.tar'] }]), code: 'ARCHIVE_INVALID' },
    { name: 'manifest-shape', members: good([], { Config: 1 }), code: 'ARCHIVE_INVALID' },
    { name: 'no-manifest', members: [{ name: 'layer.tar', content: layer }], code: 'ARCHIVE_INVALID' },
  ];
  for (const c of cases) {
    const file = join(dir, 'cases', c.name, 'a.tar');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(dir, 'cases', c.name), { recursive: true });
    await writeTar(file, c.members);
    await assert.rejects(manifestOf(`docker-archive:${file}`), (e: Error) => isBerthError(e, c.code as never) && !e.message.includes('\n'), c.name);
    assert.equal(existsSync(join(dir, 'cases', 'escaped')), false, c.name);
  }
  writeFileSync(join(dir, 'garbage.tar'), 'this is not a tar file at all, just text');
  await assert.rejects(manifestOf(`docker-archive:${join(dir, 'garbage.tar')}`), (e) => isBerthError(e, 'ARCHIVE_INVALID'));
});

test('docker-archive: writes what it reads: manifest.json with RepoTags, config, uncompressed layers named by diff_id', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'legacy.tar');
  const { layer1 } = await legacyArchive(file);
  await copyImage(parseImageReference(`docker-archive:${file}:busybox`), parseImageReference(`oci:${join(dir, 'o')}:t`));
  const out = join(dir, 'out.tar');
  await copyImage(parseImageReference(`oci:${join(dir, 'o')}:t`), parseImageReference(`docker-archive:${out}:registry.example:5000/ns/img:v3`));
  const { execFileSync } = await import('node:child_process');
  const names = execFileSync('tar', ['-tf', out], { encoding: 'utf8' }).trim().split('\n');
  assert.ok(names.includes(`${sha256(layer1).slice(7)}.tar`), names.join(','));
  const manifest = JSON.parse(execFileSync('tar', ['-xOf', out, 'manifest.json'], { encoding: 'utf8' }));
  assert.deepEqual(manifest[0].RepoTags, ['registry.example:5000/ns/img:v3']);
  assert.equal(manifest[0].Layers.length, 2);
  await assert.rejects(
    copyImage(parseImageReference(`oci:${join(dir, 'o')}:t`), parseImageReference(`docker-archive:${join(dir, 'x.tar')}:@1`)),
    (e) => isBerthError(e, 'USAGE'),
  );
  assert.throws(() => parseImageReference(`docker-archive:${out}:busybox@sha256:${'a'.repeat(64)}`), (e) => isBerthError(e, 'INVALID_REFERENCE'));
});
