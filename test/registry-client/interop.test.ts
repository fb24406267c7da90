import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { closeDispatchers } from '../../registry/client/dispatcher.js';
import { RegistryClient } from '../../registry/client/RegistryClient.js';
import type { Digest } from '../../src/oci/digest.js';
import { peer } from '../support/peers.js';
import { buildMultiArchLayout, buildRandomLayout } from '../support/ociImage.js';
import { berthAsync, ok, run } from '../support/runCli.js';
import { dockerRegistryFor } from '../support/dockerRegistry.js';

const NO_TLS = '--tls-verify=false';

test('skopeo pushes a single image, berth reads it the same way skopeo does', async (t) => {
  const skopeo = peer(t, 'skopeo');
  const setup = await dockerRegistryFor(t);
  if (!skopeo || !setup) return;
  const { registry, dir } = setup;
  const image = await buildRandomLayout(join(dir, 'layout'), 'v1', [{ file0: 5000 }, { file1: 70000 }], { label: 'v1' });
  await ok(run(skopeo, ['copy', '--dest-tls-verify=false', `oci:${join(dir, 'layout')}:v1`, `docker://${registry.host}/team/app:v1`]), 'skopeo push');
  await ok(run(skopeo, ['copy', '--dest-tls-verify=false', `oci:${join(dir, 'layout')}:v1`, `docker://${registry.host}/team/app:stable`]), 'skopeo push');

  const raw = await ok(berthAsync(['inspect', '--raw', `docker://${registry.host}/team/app:v1`]), 'berth inspect --raw');
  const skopeoRaw = await ok(run(skopeo, ['inspect', '--raw', NO_TLS, `docker://${registry.host}/team/app:v1`]), 'skopeo inspect --raw');
  assert.equal(raw.stdout, skopeoRaw.stdout);

  const ours = JSON.parse((await ok(berthAsync(['inspect', `docker://${registry.host}/team/app:v1`]), 'berth inspect')).stdout) as Record<string, unknown>;
  const theirs = JSON.parse((await ok(run(skopeo, ['inspect', NO_TLS, `docker://${registry.host}/team/app:v1`]), 'skopeo inspect')).stdout) as Record<string, unknown>;
  for (const field of ['Name', 'Digest', 'RepoTags', 'Created', 'Labels', 'Architecture', 'Os', 'Layers', 'Env']) {
    assert.deepEqual(ours[field], theirs[field], `inspect field ${field}`);
  }
  // Newer skopeo versions print LayersData too; where this one does, it must agree.
  if (theirs.LayersData !== undefined) assert.deepEqual(ours.LayersData, theirs.LayersData);
  assert.equal(ours.Digest, image.manifest.digest);

  const config = await ok(berthAsync(['inspect', '--config', '--raw', `docker://${registry.host}/team/app:v1`]), 'berth inspect --config');
  const skopeoConfig = await ok(run(skopeo, ['inspect', '--config', '--raw', NO_TLS, `docker://${registry.host}/team/app:v1`]), 'skopeo inspect --config');
  assert.equal(config.stdout, skopeoConfig.stdout);

  const digest = await ok(berthAsync(['inspect', '--format', '{{.Digest}} {{index .Labels "test.label"}}', `docker://${registry.host}/team/app:v1`]), 'template');
  assert.equal(digest.stdout.trim(), `${image.manifest.digest} v1`);

  const tags = JSON.parse((await ok(berthAsync(['list-tags', `docker://${registry.host}/team/app`]), 'list-tags')).stdout) as { Tags: string[] };
  const skopeoTags = JSON.parse((await ok(run(skopeo, ['list-tags', NO_TLS, `docker://${registry.host}/team/app`]), 'skopeo list-tags')).stdout) as { Tags: string[] };
  assert.deepEqual([...tags.Tags].sort(), [...skopeoTags.Tags].sort());
  assert.deepEqual([...tags.Tags].sort(), ['stable', 'v1']);

  // berth copies it out to an OCI layout; skopeo (which checks every digest) pushes that back elsewhere unchanged.
  const out = join(dir, 'out');
  await ok(berthAsync(['copy', `docker://${registry.host}/team/app:v1`, `oci:${out}:v1`]), 'berth pull');
  await ok(run(skopeo, ['copy', '--dest-tls-verify=false', `oci:${out}:v1`, `docker://${registry.host}/roundtrip/app:v1`]), 'skopeo re-push');
  const again = JSON.parse((await ok(run(skopeo, ['inspect', NO_TLS, `docker://${registry.host}/roundtrip/app:v1`]), 'skopeo inspect')).stdout) as { Digest: string };
  assert.equal(again.Digest, image.manifest.digest);
});

test('berth pushes a single image and an index, skopeo reads them byte for byte', async (t) => {
  const skopeo = peer(t, 'skopeo');
  const setup = await dockerRegistryFor(t);
  if (!skopeo || !setup) return;
  const { registry, dir } = setup;
  const image = await buildRandomLayout(join(dir, 'single'), 'one', [{ file0: 1500 }, { file1: 2_000_000 }]);
  const digestFile = join(dir, 'digest');
  await ok(berthAsync(['copy', '--digestfile', digestFile, `oci:${join(dir, 'single')}:one`, `docker://${registry.host}/pushed/single:1.0`]), 'berth push');
  assert.equal(readFileSync(digestFile, 'utf8'), image.manifest.digest);
  const pulled = join(dir, 'pulled');
  await ok(run(skopeo, ['copy', '--src-tls-verify=false', `docker://${registry.host}/pushed/single:1.0`, `oci:${pulled}:x`]), 'skopeo pull');
  const pulledIndex = JSON.parse(readFileSync(join(pulled, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
  assert.equal(pulledIndex.manifests[0]!.digest, image.manifest.digest);

  const { index, instances } = await buildMultiArchLayout(join(dir, 'multi'), 'm');
  await ok(berthAsync(['copy', '--all', `oci:${join(dir, 'multi')}:m`, `docker://${registry.host}/pushed/multi:2`]), 'berth push index');
  const raw = await ok(run(skopeo, ['inspect', '--raw', NO_TLS, `docker://${registry.host}/pushed/multi:2`]), 'skopeo inspect index');
  assert.equal(JSON.parse(raw.stdout).manifests.length, 2);
  const manifestDigest = await ok(berthAsync(['manifest-digest', writeTemp(dir, raw.stdout)]), 'manifest-digest');
  assert.equal(manifestDigest.stdout.trim(), index.digest);
  const arm = JSON.parse((await ok(run(skopeo, ['inspect', NO_TLS, '--override-arch', 'arm64', `docker://${registry.host}/pushed/multi:2`]), 'skopeo inspect arm64')).stdout) as { Architecture: string; Digest: string };
  assert.equal(arm.Architecture, 'arm64');
  const all = join(dir, 'all');
  await ok(run(skopeo, ['copy', '--all', '--src-tls-verify=false', `docker://${registry.host}/pushed/multi:2`, `oci:${all}:m`]), 'skopeo pull --all');
  for (const instance of instances) assert.ok(readFileSync(join(all, 'blobs', 'sha256', instance.manifest.digest.slice(7))).length > 0);

  // One platform only: the registry gets an index of just that instance, never a sparse one.
  await ok(berthAsync(['copy', '--platform', 'linux/arm64', `docker://${registry.host}/pushed/multi:2`, `docker://${registry.host}/pushed/arm-only:1`]), 'berth copy one platform');
  const armOnly = JSON.parse((await ok(run(skopeo, ['inspect', '--raw', NO_TLS, `docker://${registry.host}/pushed/arm-only:1`]), 'skopeo inspect arm-only')).stdout) as { manifests: Array<{ digest: string }> };
  assert.deepEqual(armOnly.manifests.map((m) => m.digest), [instances[1]!.manifest.digest]);
});

test('skopeo pushes an index, berth reads every instance and copies it registry to registry', async (t) => {
  const skopeo = peer(t, 'skopeo');
  const setup = await dockerRegistryFor(t);
  if (!skopeo || !setup) return;
  const { registry, dir } = setup;
  const { index } = await buildMultiArchLayout(join(dir, 'multi'), 'm');
  await ok(run(skopeo, ['copy', '--all', '--dest-tls-verify=false', `oci:${join(dir, 'multi')}:m`, `docker://${registry.host}/src/multi:1`]), 'skopeo push index');
  const copied = JSON.parse((await ok(berthAsync(['copy', '--all', '--format', 'json', `docker://${registry.host}/src/multi:1`, `docker://${registry.host}/dst/multi:1`]), 'berth copy')).stdout) as { manifestDigest: string; instances: string[]; blobsReused: number; blobsCopied: number };
  assert.equal(copied.manifestDigest, index.digest);
  assert.equal(copied.instances.length, 2);
  // Same registry: blobs are mounted across repositories, not uploaded again.
  assert.equal(copied.blobsCopied, 0);
  const check = join(dir, 'check');
  await ok(run(skopeo, ['copy', '--all', '--src-tls-verify=false', `docker://${registry.host}/dst/multi:1`, `oci:${check}:m`]), 'skopeo reads the copy');
  const out = JSON.parse(readFileSync(join(check, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
  assert.equal(out.manifests[0]!.digest, index.digest);
});

test('bad input is one clear line and a non-zero exit', async (t) => {
  const setup = await dockerRegistryFor(t);
  if (!setup) return;
  const { registry } = setup;
  const missing = await berthAsync(['inspect', `docker://${registry.host}/nothing/here:v1`]);
  assert.equal(missing.status, 3);
  assert.match(missing.stderr, /^berth: registry 127\.0\.0\.1:\d+: .*(unknown|not found).*\n$/);
  const badFlag = await berthAsync(['inspect', '--nope', `docker://${registry.host}/x:y`]);
  assert.equal(badFlag.status, 2);
  const badRef = await berthAsync(['copy', 'docker://UPPER/Case:tag', 'oci:/tmp/x:y']);
  assert.equal(badRef.status, 2);
  assert.equal(badRef.stderr.split('\n').filter(Boolean).length, 1);
  const refused = await berthAsync(['inspect', 'docker://127.0.0.1:1/x:y', '--retry-times', '0']);
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /^berth: registry 127\.0\.0\.1:1: cannot reach registry/);
});

function writeTemp(dir: string, text: string): string {
  const path = join(dir, `manifest-${Date.now()}.json`);
  writeFileSync(path, text);
  return path;
}

test('referrers on a registry without the API: the sha256-<hex> fallback tag is read', async (t) => {
  const skopeo = peer(t, 'skopeo');
  const setup = await dockerRegistryFor(t);
  if (!skopeo || !setup) return;
  const { registry, dir } = setup;
  const image = await buildRandomLayout(join(dir, 'layout'), 'v1');
  await ok(run(skopeo, ['copy', '--dest-tls-verify=false', `oci:${join(dir, 'layout')}:v1`, `docker://${registry.host}/ref/app:v1`]), 'push');
  const client = new RegistryClient(registry.host, { tlsVerify: false, retryTimes: 0 });
  assert.deepEqual(await client.referrers('ref/app', image.manifest.digest as Digest), { index: undefined, viaFallbackTag: true });
  const fallback = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] }));
  await client.putManifest('ref/app', image.manifest.digest.replace(':', '-'), fallback, 'application/vnd.oci.image.index.v1+json');
  const found = await client.referrers('ref/app', image.manifest.digest as Digest);
  assert.equal(found.viaFallbackTag, true);
  assert.deepEqual(found.index, fallback);
  await closeDispatchers();
});
