import assert from 'node:assert/strict';
import { readdirSync, rmSync } from 'node:fs';
import { buffer } from 'node:stream/consumers';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { digestOf } from '../../src/oci/digest.js';
import { layerFromTar, storedLayer } from '../../src/layer/newLayer.js';
import { writeTar, type LayerEntry } from '../../src/layer/tarWriter.js';
import { tempDir } from '../support/peers.js';

const entries: LayerEntry[] = [
  { path: 'app', type: 'directory', mode: 0o755 },
  { path: 'app/hello.txt', type: 'file', content: Buffer.from('hello\n'), mode: 0o644 },
];

test('layerFromTar keeps one blob named by its digest, and its diff_id is the tar the builder wrote', async (t) => {
  const blobDir = `${tempDir(t)}/blobs`;
  const tar = await buffer(writeTar(entries));
  const layer = await layerFromTar(writeTar(entries), { blobDir, history: { created_by: 'COPY hello.txt /app/' } });
  const blob = await buffer(await layer.open());
  assert.equal(layer.descriptor.digest, digestOf(blob));
  assert.equal(layer.descriptor.size, blob.length);
  assert.equal(layer.diffId, digestOf(tar));
  assert.ok(gunzipSync(blob).equals(tar));
  assert.equal(layer.history?.created_by, 'COPY hello.txt /app/');

  const again = await layerFromTar(writeTar(entries), { blobDir });
  assert.equal(again.descriptor.digest, layer.descriptor.digest, 'the same tar gives the same blob');
  assert.deepEqual(readdirSync(blobDir), [layer.descriptor.digest.replace(':', '-')], 'no temp file is left beside the blob');

  const cached = await storedLayer(blobDir, layer.descriptor, layer.diffId);
  assert.ok(cached && (await buffer(await cached.open())).equals(blob));
  rmSync(`${blobDir}/${layer.descriptor.digest.replace(':', '-')}`);
  assert.equal(await storedLayer(blobDir, layer.descriptor, layer.diffId), null, 'a blob that is gone is a miss');
});

test('layerFromTar leaves nothing behind when the tar stream fails', async (t) => {
  const blobDir = `${tempDir(t)}/blobs`;
  const broken = writeTar([{ path: 'gone', type: 'file', content: { file: '/nonexistent/berth-test', size: 4 } }]);
  await assert.rejects(layerFromTar(broken, { blobDir }));
  assert.deepEqual(readdirSync(blobDir), []);
});
