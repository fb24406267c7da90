import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { blobStream, uploadBlob } from '../../registry/client/blobs.js';
import { closeDispatchers } from '../../registry/client/dispatcher.js';
import { DigestingStream } from '../../src/oci/digest.js';
import { FaultProxy } from '../fault-proxy/faultProxy.js';
import { RegistryClient } from '../../registry/client/RegistryClient.js';
import { startRegistryServer } from '../../registry/server/index.js';
import { digestOf, type Digest } from '../../src/oci/digest.js';
import { berthBin, peer, tempDir } from '../support/peers.js';
import { buildRandomLayout } from '../support/ociImage.js';
import { berthAsync, ok, run } from '../support/runCli.js';

/** What docker-registry cannot show: chunked uploads on request, OCI tag deletion, TLS with a private CA, referrers. */
test.after(() => closeDispatchers());

test('a registry that asks for chunks (OCI-Chunk-Min-Length) gets chunked uploads, readable by skopeo', async (t) => {
  const skopeo = peer(t, 'skopeo');
  if (!skopeo) return;
  const dir = tempDir(t);
  const server = await startRegistryServer({ addr: '127.0.0.1:0', root: join(dir, 'root'), chunkMinLength: 1024 * 1024 });
  t.after(() => server.close());
  const proxy = await new FaultProxy({ host: '127.0.0.1', port: server.port }).start();
  t.after(() => proxy.stop());

  // Library level, with 1 MiB chunks: three full chunks by PATCH, the short rest with the closing PUT.
  const client = new RegistryClient(proxy.host, { retryTimes: 0, chunkSize: 1024 * 1024 });
  const data = randomBytes(3_500_000);
  const descriptor = { mediaType: 'application/octet-stream', digest: digestOf(data), size: data.length };
  await uploadBlob(client, 'chunked/raw', descriptor, Readable.from([data.subarray(0, 1_000_000), data.subarray(1_000_000)]));
  assert.equal(proxy.log.filter((l) => l.method === 'PATCH').length, 3);
  assert.equal(proxy.log.filter((l) => l.method === 'PUT').length, 1);
  const back = new DigestingStream({ digest: descriptor.digest, size: descriptor.size });
  await pipeline(blobStream(client, 'chunked/raw', descriptor), back, new Writable({ write: (_c, _e, done) => done() }));

  // Through the CLI: skopeo reads what berth pushed in chunks.
  const image = await buildRandomLayout(join(dir, 'layout'), 'v1', [{ file0: 2000 }, { file1: 3_500_000 }]);
  await ok(berthAsync(['copy', `oci:${join(dir, 'layout')}:v1`, `docker://${server.host}/chunked/app:v1`]), 'push');
  const pulled = join(dir, 'pulled');
  await ok(run(skopeo, ['copy', '--src-tls-verify=false', `docker://${server.host}/chunked/app:v1`, `oci:${pulled}:v1`]), 'skopeo pull');
  const inspected = JSON.parse((await ok(run(skopeo, ['inspect', `oci:${pulled}:v1`]), 'inspect')).stdout) as { Digest: string };
  assert.equal(inspected.Digest, image.manifest.digest);
});

test('berth delete of a tag removes only that tag where the registry supports OCI tag deletion', async (t) => {
  const dir = tempDir(t);
  const server = await startRegistryServer({ addr: '127.0.0.1:0', root: join(dir, 'root') });
  t.after(() => server.close());
  await buildRandomLayout(join(dir, 'layout'), 'v1');
  for (const tag of ['a', 'b']) await ok(berthAsync(['copy', `oci:${join(dir, 'layout')}:v1`, `docker://${server.host}/repo/img:${tag}`]), `push ${tag}`);
  const result = JSON.parse((await ok(berthAsync(['delete', '--format', 'json', `docker://${server.host}/repo/img:a`]), 'delete a')).stdout) as { method: string; removedTags: string[] };
  assert.deepEqual(result, { image: `docker://${server.host}/repo/img:a`, method: 'tag', digest: null, removedTags: ['a'] });
  const tags = JSON.parse((await ok(berthAsync(['list-tags', `docker://${server.host}/repo/img`]), 'list-tags')).stdout) as { Tags: string[] };
  assert.deepEqual(tags.Tags, ['b']);
});

test('TLS: a private CA is refused by default, trusted with --cert-dir, skipped with --tls-verify=false', async (t) => {
  const openssl = peer(t, 'openssl');
  if (!openssl) return;
  const dir = tempDir(t);
  const certs = join(dir, 'certs');
  mkdirSync(certs);
  execFileSync(openssl, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(certs, 'ca.crt')], { stdio: 'ignore' });
  const server = await startRegistryServer({ addr: '127.0.0.1:0', root: join(dir, 'root'), tls: { cert: join(certs, 'ca.crt'), key: join(dir, 'key.pem') } });
  t.after(() => server.close());
  await buildRandomLayout(join(dir, 'layout'), 'v1');
  const target = `docker://${server.host}/secure/app:v1`;
  const refused = await berthAsync(['copy', '--retry-times', '0', `oci:${join(dir, 'layout')}:v1`, target]);
  assert.notEqual(refused.status, 0);
  assert.match(refused.stderr, /^berth: registry 127\.0\.0\.1:\d+: cannot reach registry: .*certificate/i);
  await ok(berthAsync(['copy', '--dest-cert-dir', certs, `oci:${join(dir, 'layout')}:v1`, target]), 'push trusting the CA');
  await ok(berthAsync(['inspect', '--tls-verify=false', target]), 'inspect without verification');
  await ok(berthAsync(['inspect', '--cert-dir', certs, target]), 'inspect with the CA');
  // Run as installed, berth starts Node without NODE_EXTRA_CA_CERTS (start-up time) and adds the bundle to Node's
  // roots itself when a TLS connection needs it.
  const extraCa = { env: { ...process.env, NODE_EXTRA_CA_CERTS: join(certs, 'ca.crt') } };
  await ok(run(berthBin, ['inspect', target], extraCa), 'inspect trusting NODE_EXTRA_CA_CERTS');
  // A certificate directory adds its CAs to the trusted ones (as containers tools do), it does not replace them.
  const otherCerts = join(dir, 'other-certs');
  mkdirSync(otherCerts);
  execFileSync(openssl, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=other', '-keyout', join(dir, 'other.pem'), '-out', join(otherCerts, 'other.crt')], { stdio: 'ignore' });
  await ok(run(berthBin, ['inspect', '--cert-dir', otherCerts, target], extraCa), 'inspect with an unrelated certificate directory');
  const unreadable = await run(berthBin, ['inspect', '--retry-times', '0', target], { env: { ...process.env, NODE_EXTRA_CA_CERTS: join(dir, 'missing.crt') } });
  assert.notEqual(unreadable.status, 0);
  assert.match(unreadable.stderr, /Ignoring extra certs from .*missing\.crt/);
  assert.match(unreadable.stderr, /^berth: registry .*certificate/im);
});

test('referrers: the API where the registry has it', async (t) => {
  const dir = tempDir(t);
  const server = await startRegistryServer({ addr: '127.0.0.1:0', root: join(dir, 'root') });
  t.after(() => server.close());
  const image = await buildRandomLayout(join(dir, 'layout'), 'v1');
  await ok(berthAsync(['copy', `oci:${join(dir, 'layout')}:v1`, `docker://${server.host}/ref/app:v1`]), 'push');
  const client = new RegistryClient(server.host, { retryTimes: 0 });
  const empty = Buffer.from('{}');
  const emptyDescriptor = { mediaType: 'application/vnd.oci.empty.v1+json', digest: digestOf(empty), size: empty.length };
  await uploadBlob(client, 'ref/app', emptyDescriptor, Readable.from([empty]));
  const artifact = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    artifactType: 'application/vnd.example.sbom',
    config: emptyDescriptor,
    layers: [emptyDescriptor],
    subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: image.manifest.digest, size: image.manifest.size },
  }));
  const artifactDigest = await client.putManifest('ref/app', digestOf(artifact), artifact, 'application/vnd.oci.image.manifest.v1+json');
  const { index, viaFallbackTag } = await client.referrers('ref/app', image.manifest.digest as Digest);
  assert.equal(viaFallbackTag, false);
  const listed = JSON.parse(index!.toString()) as { manifests: Array<{ digest: string; artifactType?: string }> };
  assert.deepEqual(listed.manifests.map((m) => [m.digest, m.artifactType]), [[artifactDigest, 'application/vnd.example.sbom']]);
});
