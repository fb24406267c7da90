import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { collectGarbage } from '../../registry/server/index.js';
import { tempDir } from '../support/peers.js';
import { pushBlob, pushImage, sha256, type Fetcher } from './support/conformance.js';
import { startBerth } from './support/targets.js';

test('gc removes only what nothing references, keeps young blobs, and --delete-untagged follows indexes and referrers', async (t) => {
  const root = join(tempDir(t), 'root');
  const server = await startBerth(root);
  t.after(() => server.close());
  const f: Fetcher = (path, init) => fetch(new URL(path, server.url), init as RequestInit);
  const status = async (path: string, method = 'HEAD') => (await f(path, { method })).status;

  const tagged = await pushImage(f, 'gc/app', 'v1');
  const untagged = await pushImage(f, 'gc/app', undefined);
  const child = await pushImage(f, 'gc/app', undefined);
  const index = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: child.manifestDigest, size: child.manifest.length }],
  }));
  assert.equal((await f('/v2/gc/app/manifests/multi', { method: 'PUT', body: index, headers: { 'Content-Type': 'application/vnd.oci.image.index.v1+json' } })).status, 201);
  const signature = await pushImage(f, 'gc/app', undefined, { subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: tagged.manifestDigest, size: tagged.manifest.length } });
  const orphan = await pushBlob(f, 'gc/app', randomBytes(5000));

  const young = await collectGarbage({ root });
  assert.equal(young.blobsRemoved, 0, 'inside the grace period nothing is removed (a push may be under way)');

  const dry = await collectGarbage({ root, gracePeriodMs: 0, deleteUntagged: true, dryRun: true });
  assert.ok(dry.blobsRemoved >= 1 && dry.manifestsRemoved === 1);
  assert.equal(await status(`/v2/gc/app/blobs/${orphan}`), 200, 'a dry run removes nothing');

  const plain = await collectGarbage({ root, gracePeriodMs: 0, verify: true });
  assert.equal(plain.blobsRemoved, 1, 'only the blob no manifest references');
  assert.equal(plain.manifestsRemoved, 0);
  assert.deepEqual(plain.corruptBlobs, []);
  assert.equal(await status(`/v2/gc/app/blobs/${orphan}`), 404, 'its link went with it');
  assert.equal(await status(`/v2/gc/app/manifests/${untagged.manifestDigest}`), 200, 'untagged manifests stay without --delete-untagged');

  const strict = await collectGarbage({ root, gracePeriodMs: 0, deleteUntagged: true });
  assert.equal(strict.manifestsRemoved, 1, 'only the manifest no tag, index or subject reaches');
  assert.equal(await status(`/v2/gc/app/manifests/${untagged.manifestDigest}`), 404);
  assert.equal(await status(`/v2/gc/app/blobs/${untagged.layerDigest}`), 404, "the removed manifest's layer went too");
  for (const kept of [tagged, child, signature]) {
    assert.equal(await status(`/v2/gc/app/manifests/${kept.manifestDigest}`), 200);
    assert.equal(await status(`/v2/gc/app/blobs/${kept.layerDigest}`), 200);
    const layer = await f(`/v2/gc/app/blobs/${kept.layerDigest}`);
    assert.equal(sha256(Buffer.from(await layer.arrayBuffer())), kept.layerDigest);
  }
  const referrers = (await (await f(`/v2/gc/app/referrers/${tagged.manifestDigest}`)).json()) as { manifests: { digest: string }[] };
  assert.deepEqual(referrers.manifests.map((m) => m.digest), [signature.manifestDigest], 'the signature of a kept image is kept');

  // A blob whose bytes were damaged on disk is found by --verify and removed rather than served.
  const hex = tagged.layerDigest.slice(7);
  writeFileSync(join(root, 'blobs', 'sha256', hex.slice(0, 2), hex), 'bit rot');
  const verified = await collectGarbage({ root, gracePeriodMs: 0, verify: true });
  assert.deepEqual(verified.corruptBlobs, [tagged.layerDigest]);
  assert.equal(await status(`/v2/gc/app/blobs/${tagged.layerDigest}`), 404);
});
