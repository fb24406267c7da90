import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { copyImage } from '../../src/copy/copyImage.js';
import { isBerthError } from '../../src/errors/BerthError.js';
import '../../src/transports/allTransports.js';
import { storeLayoutPath, storeRoot } from '../../src/store/storeRoot.js';
import { parseImageReference } from '../../src/transports/transportRegistry.js';
import { peer, tempDir } from '../support/peers.js';
import { buildLayout, initLayout, writeImageBlobs, addIndexEntry } from '../support/ociImage.js';
import { berth, runSync } from '../support/runCli.js';
import { validateLayout } from './support/ociImageTool.js';

test('storeRoot follows $BERTH_ROOT, then $XDG_DATA_HOME/berth, then ~/.local/share/berth', () => {
  const saved = { root: process.env.BERTH_ROOT, xdg: process.env.XDG_DATA_HOME, home: process.env.HOME };
  try {
    process.env.BERTH_ROOT = '/srv/berth';
    assert.equal(storeRoot(), '/srv/berth');
    delete process.env.BERTH_ROOT;
    process.env.XDG_DATA_HOME = '/data';
    assert.equal(storeRoot(), '/data/berth');
    delete process.env.XDG_DATA_HOME;
    process.env.HOME = '/home/u';
    assert.equal(storeRoot(), '/home/u/.local/share/berth');
    assert.equal(storeLayoutPath('/x'), '/x/images');
  } finally {
    for (const [key, value] of [['BERTH_ROOT', saved.root], ['XDG_DATA_HOME', saved.xdg], ['HOME', saved.home]] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
});

test('berth: names are normalised docker references and the store is the default for bare names', () => {
  assert.equal(parseImageReference('berth:busybox').toString(), 'berth:docker.io/library/busybox:latest');
  assert.equal(parseImageReference('localhost/app:1', 'berth').toString(), 'berth:localhost/app:1');
  assert.equal(parseImageReference('localhost/app:1', 'berth').dockerReference, 'localhost/app:1');
  assert.throws(() => parseImageReference('berth:Bad/Name'), (e) => isBerthError(e, 'INVALID_REFERENCE'));
});

test('images lists the store; rmi removes the tag and only the blobs no other image uses', async (t) => {
  const dir = tempDir(t);
  const env = { BERTH_ROOT: join(dir, 'root') };
  const shared = [{ name: 'shared/lib', content: 'used by both images\n' }];
  const src = join(dir, 'src');
  await initLayout(src);
  const one = await writeImageBlobs(src, { layers: [shared, [{ name: 'one', content: '1' }]] });
  const two = await writeImageBlobs(src, { layers: [shared, [{ name: 'two', content: '2' }]] });
  await addIndexEntry(src, { ...one.manifest, annotations: { 'org.opencontainers.image.ref.name': 'one' } });
  await addIndexEntry(src, { ...two.manifest, annotations: { 'org.opencontainers.image.ref.name': 'two' } });

  assert.equal(berth(['copy', '-q', `oci:${src}:one`, 'berth:localhost/app:1'], { env }).status, 0);
  assert.equal(berth(['copy', '-q', `oci:${src}:two`, 'berth:busybox'], { env }).status, 0);

  const table = berth(['images'], { env });
  assert.equal(table.status, 0, table.stderr);
  const lines = table.stdout.trim().split('\n');
  assert.match(lines[0] ?? '', /^REPOSITORY\s+TAG\s+DIGEST\s+SIZE$/);
  assert.match(lines[1] ?? '', new RegExp(`^docker\\.io/library/busybox\\s+latest\\s+${two.manifest.digest.slice(0, 19)}\\s+\\d`));
  assert.match(lines[2] ?? '', new RegExp(`^localhost/app\\s+1\\s+${one.manifest.digest.slice(0, 19)}\\s+\\d`));

  const listed = JSON.parse(berth(['images', '--format', 'json'], { env }).stdout) as { reference: string; digest: string; size: number }[];
  assert.deepEqual(listed.map((i) => [i.reference, i.digest]), [
    ['docker.io/library/busybox:latest', two.manifest.digest],
    ['localhost/app:1', one.manifest.digest],
  ]);
  const expectedSize = [one.manifest, one.config, ...one.layers].reduce((n, d) => n + d.size, 0);
  assert.equal(listed[1]?.size, expectedSize);

  const layout = join(dir, 'root', 'images');
  const blobs = (): string[] => readdirSync(join(layout, 'blobs', 'sha256')).sort();
  const before = blobs();
  const removed = berth(['rmi', 'localhost/app:1'], { env });
  assert.equal(removed.status, 0, removed.stderr);
  assert.match(removed.stdout, /Untagged: localhost\/app:1/);
  const after = blobs();
  const gone = before.filter((b) => !after.includes(b));
  assert.deepEqual(gone.sort(), [one.manifest, one.config, one.layers[1]].map((d) => d?.digest.slice(7)).sort(), 'exactly the unshared blobs go');
  assert.ok(existsSync(join(layout, 'blobs', 'sha256', (one.layers[0]?.digest ?? '').slice(7))), 'the shared layer stays');

  const validator = peer(t, 'oci-image-tool');
  if (validator) {
    const check = validateLayout(validator, layout, 'docker.io/library/busybox:latest');
    assert.equal(check.status, 0, check.stderr);
  }
  const skopeo = peer(t, 'skopeo');
  if (skopeo) {
    // The store is a plain OCI layout: other tools read it by the full reference.
    const inspected = runSync(skopeo, ['inspect', `oci:${layout}:docker.io/library/busybox:latest`]);
    assert.equal(inspected.status, 0, inspected.stderr);
    assert.equal((JSON.parse(inspected.stdout) as { Digest: string }).Digest, two.manifest.digest);
  }

  const missing = berth(['rmi', 'localhost/app:1'], { env });
  assert.equal(missing.status, 3);
  assert.equal(missing.stderr.trim().split('\n').length, 1);
  assert.match(missing.stderr, /^berth: image localhost\/app:1 is not in the local store/);

  assert.equal(berth(['rmi', 'berth:busybox'], { env }).status, 0);
  assert.deepEqual(blobs(), []);
  assert.equal(berth(['images', '-q'], { env }).stdout, '');
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: unknown[] };
  assert.deepEqual(index.manifests, []);
});

test('images on a store that does not exist yet prints just the header; bad flags are refused', (t) => {
  const dir = tempDir(t);
  const env = { BERTH_ROOT: join(dir, 'nothing-here') };
  const empty = berth(['images'], { env });
  assert.equal(empty.status, 0);
  assert.match(empty.stdout, /^REPOSITORY\s+TAG\s+DIGEST\s+SIZE\n$/);
  assert.equal(berth(['images', '--format', 'yaml'], { env }).status, 2);
  assert.equal(berth(['rmi'], { env }).status, 2);
  assert.equal(existsSync(join(dir, 'nothing-here')), false, 'listing must not create the store');
});

test('the store reads images by digest and refuses to write without a tag', async (t) => {
  const dir = tempDir(t);
  const image = await buildLayout(join(dir, 'src'), 'v', { layers: [[{ name: 'f', content: 'f' }]] });
  const options = { destinationOptions: { storeRoot: join(dir, 'root') }, sourceOptions: { storeRoot: join(dir, 'root') } };
  await copyImage(parseImageReference(`oci:${join(dir, 'src')}:v`), parseImageReference('berth:localhost/x:1'), options);
  const byDigest = await copyImage(parseImageReference(`berth:localhost/x@${image.manifest.digest}`), parseImageReference(`oci:${join(dir, 'out')}:v`), options);
  assert.equal(byDigest.manifestDigest, image.manifest.digest);
  await assert.rejects(
    copyImage(parseImageReference(`oci:${join(dir, 'src')}:v`), parseImageReference(`berth:localhost/x@${image.manifest.digest}`), options),
    (e) => isBerthError(e, 'USAGE'),
  );
});
