import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { RegistryClient } from '../../registry/client/RegistryClient.js';
import { closeDispatchers } from '../../registry/client/dispatcher.js';
import { peer } from '../support/peers.js';
import { buildMultiArchLayout, writeImageBlobs, writeLayoutIndex } from '../support/ociImage.js';
import { berthAsync, ok, run } from '../support/runCli.js';
import { dockerRegistryFor } from '../support/dockerRegistry.js';
import { FaultProxy } from '../fault-proxy/faultProxy.js';

test.after(() => closeDispatchers());

/** Tag → manifest digest for every tag of a repository, read with berth's client. */
async function state(host: string, repository: string): Promise<Record<string, string>> {
  const client = new RegistryClient(host, { tlsVerify: false, retryTimes: 0 });
  const tags = await client.listTags(repository).catch(() => []);
  const out: Record<string, string> = {};
  for (const tag of tags.sort()) out[tag] = (await client.headManifest(repository, tag))!.digest!;
  return out;
}

/** A repository of `count` tags sharing one base layer, plus a two-platform index tag. */
async function seedRepository(skopeo: string, dir: string, host: string, repository: string, count: number): Promise<void> {
  const layout = join(dir, `seed-${repository.replace(/\//g, '-')}`);
  const base = [{ name: 'base', content: randomBytes(50_000) }];
  const entries = [];
  for (let i = 0; i < count; i++) {
    const image = await writeImageBlobs(layout, { layers: [base, [{ name: `app${i}`, content: randomBytes(2000) }]], label: `v${i}` });
    entries.push({ tag: `1.${i}.0`, descriptor: image.manifest });
  }
  await writeLayoutIndex(layout, entries);
  for (const { tag } of entries) await ok(run(skopeo, ['copy', '--dest-tls-verify=false', `oci:${layout}:${tag}`, `docker://${host}/${repository}:${tag}`]), `seed ${tag}`);
  const multi = join(dir, `seed-multi-${repository.replace(/\//g, '-')}`);
  await buildMultiArchLayout(multi, 'multi');
  await ok(run(skopeo, ['copy', '--all', '--dest-tls-verify=false', `oci:${multi}:multi`, `docker://${host}/${repository}:multi`]), 'seed multi');
}

test('berth sync leaves a registry exactly as skopeo sync does (whole repository, --all, tag filters, YAML, dry run)', async (t) => {
  const skopeo = peer(t, 'skopeo');
  const setup = await dockerRegistryFor(t);
  if (!skopeo || !setup) return;
  const { registry, dir } = setup;
  const host = registry.host;
  await seedRepository(skopeo, dir, host, 'upstream/app', 6);

  await ok(run(skopeo, ['sync', '--src', 'docker', '--dest', 'docker', '--src-tls-verify=false', '--dest-tls-verify=false', `${host}/upstream/app`, `${host}/by-skopeo`]), 'skopeo sync');
  await ok(berthAsync(['sync', '--src', 'docker', '--dest', 'docker', `${host}/upstream/app`, `${host}/by-berth`]), 'berth sync');
  const skopeoState = await state(host, 'by-skopeo/app');
  assert.equal(Object.keys(skopeoState).length, 7);
  assert.deepEqual(await state(host, 'by-berth/app'), skopeoState);

  // (--scoped cannot be compared here: a registry host with a port is not a valid repository path component.)
  await ok(run(skopeo, ['sync', '--all', '--src', 'docker', '--dest', 'docker', '--src-tls-verify=false', '--dest-tls-verify=false', `${host}/upstream/app`, `${host}/all-skopeo`]), 'skopeo sync --all');
  await ok(berthAsync(['sync', '--all', '--src', 'docker', '--dest', 'docker', `${host}/upstream/app`, `${host}/all-berth`]), 'berth sync --all');
  const allSkopeo = await state(host, 'all-skopeo/app');
  assert.equal(allSkopeo.multi, (await state(host, 'upstream/app')).multi, '--all keeps the index digest');
  assert.deepEqual(await state(host, 'all-berth/app'), allSkopeo);

  // Running again changes nothing and copies nothing.
  const again = JSON.parse((await ok(berthAsync(['sync', '--all', '--format', 'json', '--src', 'docker', '--dest', 'docker', `${host}/upstream/app`, `${host}/all-berth`]), 'berth sync again')).stdout) as Array<{ status: string }>;
  assert.deepEqual([...new Set(again.map((r) => r.status))], ['unchanged']);

  const yaml = join(dir, 'sync.yaml');
  writeFileSync(yaml, `${host}:\n  tls-verify: false\n  images:\n    upstream/app:\n      - "1.0.0"\n  images-by-tag-regex:\n    upstream/app: ^1\\.[3-4]\\.0$\n`);
  await ok(run(skopeo, ['sync', '--src', 'yaml', '--dest', 'docker', '--dest-tls-verify=false', yaml, `${host}/yaml-skopeo`]), 'skopeo sync yaml');
  await ok(berthAsync(['sync', '--src', 'yaml', '--dest', 'docker', yaml, `${host}/yaml-berth`]), 'berth sync yaml');
  const yamlState = await state(host, 'yaml-skopeo/app');
  assert.deepEqual(Object.keys(yamlState), ['1.0.0', '1.3.0', '1.4.0']);
  assert.deepEqual(await state(host, 'yaml-berth/app'), yamlState);

  // --keep-going: a missing image is reported, the others still land, the exit status says it failed.
  const broken = join(dir, 'broken.yaml');
  writeFileSync(broken, `${host}:\n  tls-verify: false\n  images:\n    upstream/app:\n      - "no-such-tag"\n      - "1.1.0"\n      - "1.2.0"\n`);
  const kept = await berthAsync(['sync', '--keep-going', '--parallel-images', '1', '--src', 'yaml', '--dest', 'docker', broken, `${host}/kept`]);
  assert.notEqual(kept.status, 0);
  assert.match(kept.stderr, /sync docker:\/\/.*no-such-tag: .*manifest unknown/);
  assert.deepEqual(Object.keys(await state(host, 'kept/app')), ['1.1.0', '1.2.0']);
  const stopped = await berthAsync(['sync', '--parallel-images', '1', '--src', 'yaml', '--dest', 'docker', broken, `${host}/stopped`]);
  assert.notEqual(stopped.status, 0);
  assert.deepEqual(await state(host, 'stopped/app'), {}, 'without --keep-going the first failure stops the sync');

  await ok(berthAsync(['sync', '--tag-semver', '>=1.2.0 <1.5.0', '--src', 'docker', '--dest', 'docker', `${host}/upstream/app`, `${host}/semver`]), 'berth sync semver');
  assert.deepEqual(Object.keys(await state(host, 'semver/app')), ['1.2.0', '1.3.0', '1.4.0']);

  const dry = await ok(berthAsync(['sync', '--dry-run', '--src', 'docker', '--dest', 'docker', `${host}/upstream/app`, `${host}/dry`]), 'dry run');
  assert.match(dry.stderr, /Would sync 7 image\(s\)/);
  assert.deepEqual(await state(host, 'dry/app'), {});
});

test('images synced in parallel ask for, mount or upload a shared layer once per destination repository', async (t) => {
  const skopeo = peer(t, 'skopeo');
  const setup = await dockerRegistryFor(t);
  if (!skopeo || !setup) return;
  const { registry, dir } = setup;
  await seedRepository(skopeo, dir, registry.host, 'shared/app', 8);
  const proxy = await new FaultProxy({ host: '127.0.0.1', port: registry.port }).start();
  t.after(() => proxy.stop());

  await ok(berthAsync(['sync', '--parallel-images', '8', '--src', 'docker', '--dest', 'docker', `${proxy.host}/shared/app`, `${proxy.host}/mirror`]), 'berth sync');
  // docker-registry rewrites a repository's link to a blob in place each time the blob is mounted or uploaded into it;
  // a second link while another image's manifest PUT reads it makes that PUT fail with DIGEST_INVALID.
  const placements = new Map<string, number>();
  for (const { method, path } of proxy.log) {
    if (!path.startsWith('/v2/mirror/app/blobs/')) continue;
    const digest = method === 'HEAD' ? path.split('/').pop()! : /[?&](?:mount|digest)=([^&]+)/.exec(path)?.[1];
    if (!digest) continue;
    const key = `${method} ${decodeURIComponent(digest)}`;
    placements.set(key, (placements.get(key) ?? 0) + 1);
  }
  const repeated = [...placements].filter(([, n]) => n > 1);
  assert.deepEqual(repeated, [], 'no blob asked for, mounted or uploaded twice');
  assert.ok([...placements.keys()].some((k) => k.startsWith('POST')), 'the layers were mounted from the source repository');
  assert.deepEqual(Object.keys(await state(registry.host, 'mirror/app')), Object.keys(await state(registry.host, 'shared/app')));
});

test('berth sync to dir matches skopeo sync to dir, and to an OCI layout skopeo can read', async (t) => {
  const skopeo = peer(t, 'skopeo');
  const setup = await dockerRegistryFor(t);
  if (!skopeo || !setup) return;
  const { registry, dir } = setup;
  const host = registry.host;
  await seedRepository(skopeo, dir, host, 'src/tool', 3);
  const skopeoDir = join(dir, 'dir-skopeo');
  const berthDir = join(dir, 'dir-berth');
  await ok(run(skopeo, ['sync', '--src', 'docker', '--dest', 'dir', '--src-tls-verify=false', `${host}/src/tool`, skopeoDir]), 'skopeo sync to dir');
  await ok(berthAsync(['sync', '--src', 'docker', '--dest', 'dir', `${host}/src/tool`, berthDir]), 'berth sync to dir');
  const names = readdirSync(skopeoDir).sort();
  assert.deepEqual(readdirSync(berthDir).sort(), names);
  for (const name of names) assert.equal(readFileSync(join(berthDir, name, 'manifest.json'), 'utf8'), readFileSync(join(skopeoDir, name, 'manifest.json'), 'utf8'), name);

  // And back: a directory of dir: images synced into a registry keeps every digest.
  await ok(berthAsync(['sync', '--src', 'dir', '--dest', 'docker', berthDir, `${host}/fromdir`]), 'berth sync from dir');
  const fromDir = await state(host, 'fromdir/tool');
  const direct = await state(host, 'src/tool');
  for (const tag of ['1.0.0', '1.1.0', '1.2.0']) assert.equal(fromDir[tag], direct[tag], tag);

  const layout = join(dir, 'layout');
  await ok(berthAsync(['sync', '--src', 'docker', '--dest', 'oci', `${host}/src/tool`, layout]), 'berth sync to oci');
  const upstream = await state(host, 'src/tool');
  for (const tag of ['1.0.0', '1.2.0']) {
    const inspected = JSON.parse((await ok(run(skopeo, ['inspect', `oci:${layout}:tool:${tag}`]), `skopeo inspect oci ${tag}`)).stdout) as { Digest: string };
    assert.equal(inspected.Digest, upstream[tag]);
  }
  assert.ok(existsSync(join(layout, 'index.json')));
});

test('berth delete removes exactly the tags it says, and refuses to remove others by surprise', async (t) => {
  const skopeo = peer(t, 'skopeo');
  const setup = await dockerRegistryFor(t);
  if (!skopeo || !setup) return;
  const { registry, dir } = setup;
  const host = registry.host;
  const layout = join(dir, 'layout');
  const x = await writeImageBlobs(layout, { layers: [[{ name: 'x', content: randomBytes(1000) }]], label: 'x' });
  const y = await writeImageBlobs(layout, { layers: [[{ name: 'y', content: randomBytes(1000) }]], label: 'y' });
  const z = await writeImageBlobs(layout, { layers: [[{ name: 'z', content: randomBytes(1000) }]], label: 'z' });
  await writeLayoutIndex(layout, [{ tag: 'x', descriptor: x.manifest }, { tag: 'y', descriptor: y.manifest }, { tag: 'z', descriptor: z.manifest }]);
  for (const [from, tag] of [['x', 'a'], ['x', 'b'], ['y', 'c'], ['z', 'd']] as const) {
    await ok(run(skopeo, ['copy', '--dest-tls-verify=false', `oci:${layout}:${from}`, `docker://${host}/repo/img:${tag}`]), `push ${tag}`);
  }
  assert.deepEqual(Object.keys(await state(host, 'repo/img')), ['a', 'b', 'c', 'd']);

  // c is the only tag of its manifest: deleting it removes c and nothing else.
  const c = JSON.parse((await ok(berthAsync(['delete', '--format', 'json', `docker://${host}/repo/img:c`]), 'delete c')).stdout) as { removedTags: string[] };
  assert.deepEqual(c.removedTags, ['c']);
  assert.deepEqual(Object.keys(await state(host, 'repo/img')), ['a', 'b', 'd']);

  // a shares its manifest with b: without --all-tags-of-digest berth refuses (docker-registry cannot delete a tag alone).
  const refused = await berthAsync(['delete', `docker://${host}/repo/img:a`]);
  assert.notEqual(refused.status, 0);
  assert.match(refused.stderr, /also removes tag\(s\) b .*--all-tags-of-digest/);
  assert.deepEqual(Object.keys(await state(host, 'repo/img')), ['a', 'b', 'd']);

  const both = JSON.parse((await ok(berthAsync(['delete', '--all-tags-of-digest', '--format', 'json', `docker://${host}/repo/img:a`]), 'delete a and b')).stdout) as { removedTags: string[] };
  assert.deepEqual(both.removedTags, ['a', 'b']);
  assert.deepEqual(Object.keys(await state(host, 'repo/img')), ['d']);

  // By digest: the manifest and its tag go; skopeo agrees it is gone.
  await ok(berthAsync(['delete', `docker://${host}/repo/img@${z.manifest.digest}`]), 'delete by digest');
  assert.deepEqual(await state(host, 'repo/img'), {});
  const gone = await run(skopeo, ['inspect', '--tls-verify=false', `docker://${host}/repo/img@${z.manifest.digest}`]);
  assert.notEqual(gone.status, 0);

  const missing = await berthAsync(['delete', `docker://${host}/repo/img:never`]);
  assert.equal(missing.status, 3);
});
