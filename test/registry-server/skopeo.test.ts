import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { peer, tempDir, which } from '../support/peers.js';
import { buildRandomLayout } from '../support/ociImage.js';
import { startBerth } from './support/targets.js';

const run = promisify(execFile);

async function skopeo(bin: string, args: string[]): Promise<string> {
  const { stdout } = await run(bin, args, { maxBuffer: 16 << 20 });
  return stdout;
}

function blobOf(layout: string, digest: string): Buffer {
  return readFileSync(join(layout, 'blobs', 'sha256', digest.slice(7)));
}

test('skopeo copy, inspect, list-tags, sync and delete against berth registry serve', async (t) => {
  const bin = peer(t, 'skopeo');
  if (!bin) return;
  const work = tempDir(t);
  const image = await buildRandomLayout(join(work, 'layout'), 'v1', [{ 'big.bin': 300_000 }, { 'small.txt': 100 }]);
  const registry = await startBerth(join(work, 'root'));
  t.after(() => registry.close());
  const ref = `docker://${registry.host}/skopeo/app`;
  const flags = ['--tls-verify=false'];

  await skopeo(bin, ['copy', '--dest-tls-verify=false', `oci:${image.dir}:v1`, `${ref}:v1`]);
  const inspected = JSON.parse(await skopeo(bin, ['inspect', ...flags, `${ref}:v1`])) as { Digest: string; Layers: string[]; Architecture: string };
  assert.equal(inspected.Digest, image.manifest.digest, 'the OCI manifest went through byte for byte');
  assert.deepEqual(inspected.Layers, image.layers.map((l) => l.digest));
  assert.equal(inspected.Architecture, 'amd64');
  const raw = JSON.parse(await skopeo(bin, ['inspect', '--raw', ...flags, `${ref}:v1`])) as { layers: { digest: string }[] };
  assert.deepEqual(raw.layers.map((l) => l.digest), image.layers.map((l) => l.digest));

  await skopeo(bin, ['copy', '--src-tls-verify=false', '--dest-tls-verify=false', `${ref}:v1`, `${ref}:v2`]);
  const tags = JSON.parse(await skopeo(bin, ['list-tags', ...flags, ref])) as { Tags: string[] };
  assert.deepEqual(tags.Tags.sort(), ['v1', 'v2']);

  // Round trip back into a fresh layout: every blob identical.
  const back = join(work, 'back');
  await skopeo(bin, ['copy', '--src-tls-verify=false', `${ref}:v1`, `oci:${back}:x`]);
  for (const digest of [...image.layers.map((l) => l.digest), image.config.digest, image.manifest.digest]) {
    assert.deepEqual(blobOf(back, digest), blobOf(image.dir, digest), `${digest} came back unchanged`);
  }

  // sync repository → another namespace of the same registry (uses blob mounts / existence checks).
  await skopeo(bin, ['sync', '--src', 'docker', '--dest', 'docker', '--src-tls-verify=false', '--dest-tls-verify=false', `${registry.host}/skopeo/app`, `${registry.host}/mirror`]);
  const mirrored = JSON.parse(await skopeo(bin, ['list-tags', ...flags, `docker://${registry.host}/mirror/app`])) as { Tags: string[] };
  assert.deepEqual(mirrored.Tags.sort(), ['v1', 'v2']);
  const mirroredDigest = JSON.parse(await skopeo(bin, ['inspect', ...flags, `docker://${registry.host}/mirror/app:v2`])) as { Digest: string };
  assert.equal(mirroredDigest.Digest, image.manifest.digest);

  await skopeo(bin, ['delete', ...flags, `${ref}:v1`]);
  await assert.rejects(skopeo(bin, ['inspect', ...flags, `${ref}:v2`]), 'deleting by digest removed every tag on that manifest');
  const after = JSON.parse(await skopeo(bin, ['list-tags', ...flags, ref])) as { Tags: string[] };
  assert.deepEqual(after.Tags, []);
  const stillMirrored = JSON.parse(await skopeo(bin, ['inspect', ...flags, `docker://${registry.host}/mirror/app:v1`])) as { Digest: string };
  assert.equal(stillMirrored.Digest, image.manifest.digest, 'other repositories keep their copy');
});

test('skopeo against berth registry serve over TLS (--tls-cert/--tls-key)', async (t) => {
  const bin = peer(t, 'skopeo');
  const openssl = which('openssl');
  if (!bin) return;
  if (!openssl) {
    t.skip('openssl is not installed (needed to make a self-signed certificate)');
    return;
  }
  const work = tempDir(t);
  const cert = join(work, 'cert.pem');
  const key = join(work, 'key.pem');
  await run(openssl, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1']);
  const image = await buildRandomLayout(join(work, 'layout'), 'v1', [{ 'hello.txt': 64 }]);
  const registry = await startBerth(join(work, 'root'), { tls: { cert, key } });
  t.after(() => registry.close());
  assert.match(registry.url, /^https:/);
  await skopeo(bin, ['copy', '--dest-tls-verify=false', `oci:${image.dir}:v1`, `docker://${registry.host}/tls/app:v1`]);
  const inspected = JSON.parse(await skopeo(bin, ['inspect', '--tls-verify=false', `docker://${registry.host}/tls/app:v1`])) as { Digest: string };
  assert.equal(inspected.Digest, image.manifest.digest);
  // With verification on, skopeo must refuse the self-signed certificate: the server really speaks TLS.
  await assert.rejects(skopeo(bin, ['inspect', '--tls-verify=true', `docker://${registry.host}/tls/app:v1`]));
});
