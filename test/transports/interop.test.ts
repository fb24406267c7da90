import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { copyImage } from '../../src/copy/copyImage.js';
import '../../src/transports/allTransports.js';
import { parseImageReference } from '../../src/transports/transportRegistry.js';
import { peer, tempDir } from '../support/peers.js';
import { buildLayout, type FixtureImage } from '../support/ociImage.js';
import { runSync, type RunResult } from '../support/runCli.js';
import { validateLayout } from './support/ociImageTool.js';

async function copy(from: string, to: string) {
  return copyImage(parseImageReference(from), parseImageReference(to));
}

function ok(result: RunResult, what: string): string {
  assert.equal(result.status, 0, `${what} failed: ${result.stderr}${result.stdout}`);
  return result.stdout;
}

/** Config digest and layer list of what berth reads from `ref`. */
async function berthView(ref: string): Promise<{ config: string; layers: number }> {
  const source = await parseImageReference(ref).newSource();
  try {
    const manifest = JSON.parse((await source.getManifest()).bytes.toString()) as { config: { digest: string }; layers: unknown[] };
    return { config: manifest.config.digest, layers: manifest.layers.length };
  } finally {
    await source.close();
  }
}

async function fixture(t: TestContext): Promise<{ dir: string; image: FixtureImage }> {
  const dir = tempDir(t);
  const image = await buildLayout(join(dir, 'start'), 'v1', {
    layers: [[{ name: 'etc/greeting', content: 'hello from berth\n' }], [{ name: 'bin/app', content: '#!/bin/sh\n', mode: 0o755 }]],
  });
  return { dir, image };
}

test('skopeo inspects and copies every format berth writes', async (t) => {
  const skopeo = peer(t, 'skopeo');
  const validator = peer(t, 'oci-image-tool');
  if (!skopeo || !validator) return;
  const { dir, image } = await fixture(t);
  const written: { ref: string; keepsDigest: boolean }[] = [
    { ref: `oci:${join(dir, 'out-oci')}:v1`, keepsDigest: true },
    { ref: `oci-archive:${join(dir, 'out.oci.tar')}:v1`, keepsDigest: true },
    { ref: `docker-archive:${join(dir, 'out.docker.tar')}:localhost/interop:1`, keepsDigest: false },
    { ref: `dir:${join(dir, 'out-dir')}`, keepsDigest: true },
  ];
  for (const [i, { ref, keepsDigest }] of written.entries()) {
    await copy(`oci:${join(dir, 'start')}:v1`, ref);
    const inspected = JSON.parse(ok(runSync(skopeo, ['inspect', ref]), `skopeo inspect ${ref}`)) as { Digest: string; Layers: string[]; Architecture: string };
    if (keepsDigest) assert.equal(inspected.Digest, image.manifest.digest, ref);
    assert.equal(inspected.Layers.length, 2, ref);
    assert.equal(inspected.Architecture, 'amd64');
    const config = JSON.parse(ok(runSync(skopeo, ['inspect', '--config', '--raw', ref]), `skopeo inspect --config ${ref}`)) as { rootfs: { diff_ids: string[] } };
    assert.deepEqual(config.rootfs.diff_ids, image.diffIds, ref);
    const copied = join(dir, `skopeo-copy-${i}`);
    ok(runSync(skopeo, ['copy', '-q', ref, `oci:${copied}:c`]), `skopeo copy ${ref}`);
    const check = validateLayout(validator, copied, 'c');
    assert.equal(check.status, 0, `${ref}: ${check.stderr}`);
  }
});

test('berth reads every format skopeo writes', async (t) => {
  const skopeo = peer(t, 'skopeo');
  if (!skopeo) return;
  const { dir, image } = await fixture(t);
  const targets = [
    `oci:${join(dir, 'sk-oci')}:v1`,
    `oci-archive:${join(dir, 'sk.oci.tar')}:v1`,
    `docker-archive:${join(dir, 'sk.docker.tar')}:localhost/sk:1`,
    `dir:${join(dir, 'sk-dir')}`,
  ];
  for (const [i, ref] of targets.entries()) {
    ok(runSync(skopeo, ['copy', '-q', `oci:${join(dir, 'start')}:v1`, ref]), `skopeo copy to ${ref}`);
    assert.deepEqual(await berthView(ref), { config: image.config.digest, layers: 2 }, ref);
    const result = await copy(ref, `oci:${join(dir, `back-${i}`)}:b`);
    if (!ref.startsWith('docker-archive:')) assert.equal(result.manifestDigest, image.manifest.digest, ref);
  }
});

test('berth reads what umoci wrote, and umoci unpacks what berth wrote', async (t) => {
  const umoci = peer(t, 'umoci');
  const validator = peer(t, 'oci-image-tool');
  if (!umoci || !validator) return;
  const dir = tempDir(t);
  const layout = join(dir, 'umoci');
  ok(runSync(umoci, ['init', '--layout', layout]), 'umoci init');
  ok(runSync(umoci, ['new', '--image', `${layout}:t`]), 'umoci new');
  mkdirSync(join(dir, 'files'));
  writeFileSync(join(dir, 'files', 'who'), 'umoci\n');
  ok(runSync(umoci, ['insert', '--image', `${layout}:t`, join(dir, 'files', 'who'), '/etc/who']), 'umoci insert');
  ok(runSync(umoci, ['config', '--image', `${layout}:t`, '--config.cmd', '/bin/sh']), 'umoci config');
  const view = await berthView(`oci:${layout}:t`);
  assert.equal(view.layers, 1);
  await copy(`oci:${layout}:t`, `dir:${join(dir, 'as-dir')}`);
  const back = await copy(`dir:${join(dir, 'as-dir')}`, `oci:${join(dir, 'again')}:t`);
  const check = validateLayout(validator, join(dir, 'again'), 't');
  assert.equal(check.status, 0, check.stderr);
  ok(runSync(umoci, ['unpack', '--rootless', '--image', `${join(dir, 'again')}:t`, join(dir, 'bundle')]), 'umoci unpack');
  const { readFileSync } = await import('node:fs');
  assert.equal(readFileSync(join(dir, 'bundle', 'rootfs', 'etc', 'who'), 'utf8'), 'umoci\n');
  assert.ok(back.manifestDigest.startsWith('sha256:'));
});

test('berth reads what buildah pushed to oci: and oci-archive:', async (t) => {
  const buildah = peer(t, 'buildah');
  if (!buildah) return;
  const dir = tempDir(t);
  const base = ['--root', join(dir, 'store'), '--runroot', join(dir, 'run'), '--storage-driver', 'vfs'];
  const container = ok(runSync(buildah, [...base, 'from', '--quiet', 'scratch']), 'buildah from').trim();
  t.after(() => runSync(buildah, [...base, 'rm', container]));
  writeFileSync(join(dir, 'f.txt'), 'built by buildah\n');
  ok(runSync(buildah, [...base, 'copy', container, join(dir, 'f.txt'), '/f.txt']), 'buildah copy');
  ok(runSync(buildah, [...base, 'config', '--cmd', '/f.txt', container]), 'buildah config');
  ok(runSync(buildah, [...base, 'commit', '-q', container, 'localhost/built:1']), 'buildah commit');
  ok(runSync(buildah, [...base, 'push', '-q', 'localhost/built:1', `oci:${join(dir, 'layout')}:built`]), 'buildah push oci:');
  ok(runSync(buildah, [...base, 'push', '-q', 'localhost/built:1', `oci-archive:${join(dir, 'b.tar')}:built`]), 'buildah push oci-archive:');
  t.after(() => runSync(buildah, [...base, 'rmi', '-a', '-f']));
  const fromLayout = await berthView(`oci:${join(dir, 'layout')}:built`);
  const fromArchive = await berthView(`oci-archive:${join(dir, 'b.tar')}:built`);
  assert.equal(fromLayout.layers, 1);
  assert.equal(fromArchive.config, fromLayout.config);
  const result = await copy(`oci-archive:${join(dir, 'b.tar')}:built`, `docker-archive:${join(dir, 'd.tar')}:localhost/built:1`);
  assert.ok(result.blobsCopied >= 2);
  const source = await parseImageReference(`docker-archive:${join(dir, 'd.tar')}`).newSource();
  const manifest = JSON.parse((await source.getManifest()).bytes.toString()) as { config: { digest: string } };
  await source.close();
  assert.equal(manifest.config.digest, fromLayout.config);
});

test('podman loads the docker-archive berth writes (as docker load does), and berth reads what podman saves', async (t) => {
  const podman = peer(t, 'podman');
  if (!podman) return;
  const { dir, image } = await fixture(t);
  const base = ['--root', join(dir, 'store'), '--runroot', join(dir, 'run'), '--tmpdir', join(dir, 'tmp'), '--storage-driver', 'vfs', '--events-backend', 'none'];
  t.after(() => runSync(podman, [...base, 'rmi', '-a', '-f']));
  await copy(`oci:${join(dir, 'start')}:v1`, `docker-archive:${join(dir, 'berth.tar')}:localhost/loaded:1`);
  const loaded = ok(runSync(podman, [...base, 'load', '-i', join(dir, 'berth.tar')]), 'podman load');
  assert.match(loaded, /Loaded image: localhost\/loaded:1/);
  ok(runSync(podman, [...base, 'save', '-o', join(dir, 'podman.tar'), 'localhost/loaded:1']), 'podman save');
  const source = await parseImageReference(`docker-archive:${join(dir, 'podman.tar')}:localhost/loaded:1`).newSource();
  const manifest = JSON.parse((await source.getManifest()).bytes.toString()) as { config: { digest: string }; layers: unknown[] };
  await source.close();
  assert.equal(manifest.config.digest, image.config.digest);
  assert.equal(manifest.layers.length, 2);
});
