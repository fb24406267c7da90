import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { makeBaseImage } from '../../fixtures/base-image/makeBaseImage.js';
import { copyFromSource } from '../../src/copy/copyImage.js';
import { mutateImage } from '../../src/image/mutateImage.js';
import { digestOf } from '../../src/oci/digest.js';
import { MediaType } from '../../src/oci/mediaTypes.js';
import { parseManifest } from '../../src/oci/manifest.js';
import '../../src/transports/allTransports.js';
import { parseImageReference } from '../../src/transports/transportRegistry.js';
import { peer, tempDir } from '../support/peers.js';

async function oneFileTar(name: string, text: string): Promise<Buffer> {
  const tar = pack();
  tar.entry({ name, mode: 0o644, mtime: new Date(0) }, text);
  tar.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of tar) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

test('mutateImage stacks a layer and a config change onto a base; only the new blobs travel', async (t) => {
  const dir = tempDir(t);
  await makeBaseImage(join(dir, 'base'), { tag: 'base' });
  await copyFromSource(await parseImageReference(`oci:${dir}/base:base`).newSource(), parseImageReference(`oci:${dir}/out:base`));

  const tar = await oneFileTar('app/hello.txt', 'hello\n');
  const gz = gzipSync(tar);
  let opened = 0;
  const base = await parseImageReference(`oci:${dir}/base:base`).newSource();
  const built = await mutateImage(base, {
    layers: [{
      descriptor: { mediaType: MediaType.ociLayerGzip, digest: digestOf(gz), size: gz.length },
      diffId: digestOf(tar),
      open: async () => {
        opened++;
        return Readable.from([gz]);
      },
      history: { created_by: 'COPY hello.txt /app/' },
    }],
    config: (c) => ({ ...c, config: { ...c.config, Cmd: ['/bin/cat', '/app/hello.txt'] } }),
    created: '2024-02-02T00:00:00Z',
  });
  const result = await copyFromSource(built, parseImageReference(`oci:${dir}/out:app`));
  await base.close();
  assert.equal(result.blobsCopied, 2, 'the new layer and the new config');
  assert.equal(result.blobsReused, 1, 'the base layer was already there');
  assert.equal(opened, 1);

  const manifest = parseManifest(readFileSync(join(dir, 'out', 'blobs', 'sha256', result.manifestDigest.slice(7))));
  assert.equal(manifest.kind, 'manifest');
  if (manifest.kind !== 'manifest') return;
  assert.equal(manifest.manifest.layers.length, 2);
  const config = JSON.parse(readFileSync(join(dir, 'out', 'blobs', 'sha256', manifest.manifest.config.digest.slice(7)), 'utf8'));
  assert.deepEqual(config.config.Cmd, ['/bin/cat', '/app/hello.txt']);
  assert.equal(config.rootfs.diff_ids.length, 2);
  assert.equal(config.rootfs.diff_ids[1], digestOf(tar));
  assert.equal(config.history.at(-1).created_by, 'COPY hello.txt /app/');

  const tool = peer(t, 'oci-image-tool');
  if (tool) execFileSync(tool, ['validate', '--type', 'image', join(dir, 'out'), '--ref', 'name=app'], { stdio: 'pipe' });
});
