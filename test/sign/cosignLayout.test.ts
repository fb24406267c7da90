import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { peer, tempDir } from '../support/peers.js';
import { berth } from '../support/runCli.js';
import { RawLayout, sigTag } from './support/rawLayout.js';
import { buildLayout } from '../support/ociImage.js';

const PW = { COSIGN_PASSWORD: 'test-pass' };
const IDENTITY = '127.0.0.1:5000/demo/app:v1';

async function setup(t: TestContext) {
  const dir = tempDir(t);
  const image = await buildLayout(join(dir, 'layout'), 'v1', { layers: [[{ name: 'hello.txt', content: 'hello' }]], cmd: ['/hello'] });
  const gen = berth(['generate-key', '--output-prefix', join(dir, 'k')], { env: PW });
  assert.equal(gen.status, 0, gen.stderr);
  return { dir, image, layout: new RawLayout(image.dir), ref: `oci:${image.dir}:v1`, key: join(dir, 'k.key'), pub: join(dir, 'k.pub') };
}

function sign(args: string[]): void {
  const r = berth(['sign', ...args], { env: PW });
  assert.equal(r.status, 0, r.stderr);
}

function assertRejected(r: { status: number; stderr: string }, reason: RegExp): void {
  assert.equal(r.status, 5, `expected exit 5 (not trusted), got ${r.status}: ${r.stderr}`);
  assert.match(r.stderr, reason);
  assert.equal(r.stderr.trim().split('\n').length, 1, 'one line, no stack trace');
}

test('generate-key writes a cosign-format pair and refuses to overwrite it', async (t) => {
  const { dir, key, pub } = await setup(t);
  assert.match(readFileSync(key, 'utf8'), /^-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----/);
  const envelope = JSON.parse(Buffer.from(readFileSync(key, 'utf8').split('\n').slice(1, -2).join(''), 'base64').toString());
  assert.deepEqual(envelope.kdf.params, { N: 32768, r: 8, p: 1 });
  assert.equal(envelope.cipher.name, 'nacl/secretbox');
  assert.match(readFileSync(pub, 'utf8'), /^-----BEGIN PUBLIC KEY-----/);
  assert.equal(statSync(key).mode & 0o777, 0o600, 'the private key is readable by its owner only');
  const again = berth(['generate-key', '--output-prefix', join(dir, 'k')], { env: PW });
  assert.equal(again.status, 1);
  assert.match(again.stderr, /already exists/);
  const noPass = berth(['generate-key', '--output-prefix', join(dir, 'other')]);
  assert.equal(noPass.status, 2);
  assert.match(noPass.stderr, /passphrase is needed/);
});

test('sign + verify on an OCI layout: payload fields, annotations, exact identity', async (t) => {
  const { image, layout, ref, key, pub } = await setup(t);
  sign(['--key', key, '--identity', IDENTITY, '-a', 'build=42', ref]);
  const sig = layout.manifestByTag(sigTag(image.manifest.digest));
  assert.equal(sig.doc.layers.length, 1);
  assert.equal(sig.doc.layers[0].mediaType, 'application/vnd.dev.cosign.simplesigning.v1+json');
  assert.ok(sig.doc.layers[0].annotations?.['dev.cosignproject.cosign/signature']);
  const payload = JSON.parse(layout.blob(sig.doc.layers[0].digest).toString());
  assert.deepEqual(payload, {
    critical: { identity: { 'docker-reference': IDENTITY }, image: { 'docker-manifest-digest': image.manifest.digest }, type: 'cosign container image signature' },
    optional: { build: '42' },
  });
  const ok = berth(['verify', '--key', pub, '--check-identity', 'exact', '--identity', IDENTITY, '-a', 'build=42', ref]);
  assert.equal(ok.status, 0, ok.stderr);
  assert.deepEqual(JSON.parse(ok.stdout), [payload]);
  assertRejected(berth(['verify', '--key', pub, '-a', 'build=43', ref]), /annotation build=43 is not in the signed payload/);
  assertRejected(berth(['verify', '--key', pub, '--check-identity', 'exact', '--identity', '127.0.0.1:5000/demo/app:v2', ref]), /is not 127\.0\.0\.1:5000\/demo\/app:v2/);
  // A second signature is appended to the same .sig manifest.
  sign(['--key', key, '--identity', IDENTITY, ref]);
  assert.equal(layout.manifestByTag(sigTag(image.manifest.digest)).doc.layers.length, 2);
});

test('an Ed25519 signature that is already there is not appended twice', async (t) => {
  const openssl = peer(t, 'openssl');
  if (!openssl) return;
  const { dir, image, layout, ref } = await setup(t);
  const ed = join(dir, 'ed.pem');
  execFileSync(openssl, ['genpkey', '-algorithm', 'ED25519', '-out', ed]);
  sign(['--key', ed, '--identity', IDENTITY, ref]);
  const second = berth(['sign', '--key', ed, '--identity', IDENTITY, ref]);
  assert.equal(second.status, 0, second.stderr);
  assert.match(second.stderr, /Already signed/);
  assert.equal(layout.manifestByTag(sigTag(image.manifest.digest)).doc.layers.length, 1);
});

test('a signature made with the openssl command line, stored by hand as the .sig layout, verifies with berth', async (t) => {
  const openssl = peer(t, 'openssl');
  if (!openssl) return;
  const { dir, image, layout, ref } = await setup(t);
  const priv = join(dir, 'ossl.pem');
  const pub = join(dir, 'ossl.pub');
  execFileSync(openssl, ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', priv]);
  execFileSync(openssl, ['ec', '-in', priv, '-pubout', '-out', pub], { stdio: 'ignore' });
  const payload = Buffer.from(
    `{"critical":{"identity":{"docker-reference":"${IDENTITY}"},"image":{"docker-manifest-digest":"${image.manifest.digest}"},"type":"cosign container image signature"},"optional":null}`,
  );
  writeFileSync(join(dir, 'payload'), payload);
  execFileSync(openssl, ['dgst', '-sha256', '-sign', priv, '-out', join(dir, 'sig'), join(dir, 'payload')]);
  const signature = readFileSync(join(dir, 'sig')).toString('base64');
  const payloadBlob = layout.putBlob(payload);
  const config = layout.putBlob(Buffer.from('{}'));
  layout.tag(
    sigTag(image.manifest.digest),
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
        layers: [{ mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json', ...payloadBlob, annotations: { 'dev.cosignproject.cosign/signature': signature } }],
      }),
    ),
  );
  const r = berth(['verify', '--key', pub, '--identity', IDENTITY, ref]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout)[0].critical.image['docker-manifest-digest'], image.manifest.digest);
});

test("berth's signatures verify with openssl dgst over the stored payload", async (t) => {
  const openssl = peer(t, 'openssl');
  if (!openssl) return;
  const { dir, image, layout, ref, key, pub } = await setup(t);
  sign(['--key', key, '--identity', IDENTITY, ref]);
  const layer = layout.manifestByTag(sigTag(image.manifest.digest)).doc.layers[0];
  writeFileSync(join(dir, 'payload'), layout.blob(layer.digest));
  writeFileSync(join(dir, 'sig'), Buffer.from(layer.annotations?.['dev.cosignproject.cosign/signature'] ?? '', 'base64'));
  const good = spawnSync(openssl, ['dgst', '-sha256', '-verify', pub, '-signature', join(dir, 'sig'), join(dir, 'payload')], { encoding: 'utf8' });
  assert.equal(good.status, 0, good.stderr);
  assert.match(good.stdout, /Verified OK/);
  writeFileSync(join(dir, 'payload'), Buffer.concat([layout.blob(layer.digest), Buffer.from(' ')]));
  const bad = spawnSync(openssl, ['dgst', '-sha256', '-verify', pub, '-signature', join(dir, 'sig'), join(dir, 'payload')], { encoding: 'utf8' });
  assert.notEqual(bad.status, 0);
});

test('OCI 1.1 referrer mode stores one referrer per signature and verify finds it', async (t) => {
  const { image, layout, ref, key, pub } = await setup(t);
  sign(['--key', key, '--identity', IDENTITY, '--registry-referrers-mode', 'oci-1-1', ref]);
  assert.equal(layout.index().manifests.some((m) => m.annotations?.['org.opencontainers.image.ref.name'] === sigTag(image.manifest.digest)), false);
  const referrers = layout.index().manifests.filter((m) => m.annotations === undefined);
  assert.equal(referrers.length, 1);
  const doc = JSON.parse(layout.blob((referrers[0] as { digest: string }).digest).toString());
  assert.equal(doc.artifactType, 'application/vnd.dev.cosign.artifact.sig.v1+json');
  assert.equal(doc.subject.digest, image.manifest.digest);
  const r = berth(['verify', '--key', pub, '--identity', IDENTITY, ref]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).length, 1);
});

test('attack: payload edited after signing', async (t) => {
  const { image, layout, ref, key, pub } = await setup(t);
  sign(['--key', key, '--identity', IDENTITY, ref]);
  const sig = layout.manifestByTag(sigTag(image.manifest.digest));
  const payload = JSON.parse(layout.blob(sig.doc.layers[0].digest).toString());
  payload.critical.identity['docker-reference'] = '127.0.0.1:5000/evil/app:v1';
  const edited = layout.putBlob(Buffer.from(JSON.stringify(payload)));
  sig.doc.layers[0] = { ...sig.doc.layers[0], ...edited };
  layout.tag(sigTag(image.manifest.digest), Buffer.from(JSON.stringify(sig.doc)));
  assertRejected(berth(['verify', '--key', pub, ref]), /signature does not verify with the given key/);
});

test('attack: signature from another key', async (t) => {
  const { dir, ref, key } = await setup(t);
  assert.equal(berth(['generate-key', '--output-prefix', join(dir, 'other')], { env: PW }).status, 0);
  sign(['--key', key, '--identity', IDENTITY, ref]);
  assertRejected(berth(['verify', '--key', join(dir, 'other.pub'), ref]), /does not verify with the given key/);
});

test('attack: a valid signature of a different digest moved onto this image', async (t) => {
  const { dir, image, layout, ref, key, pub } = await setup(t);
  const other = await buildLayout(join(dir, 'other'), 'v1', { layers: [[{ name: 'hello.txt', content: 'another image' }]], cmd: ['/hello'] });
  sign(['--key', key, '--identity', IDENTITY, `oci:${other.dir}:v1`]);
  const stolen = new RawLayout(other.dir).manifestByTag(sigTag(other.manifest.digest));
  for (const d of [stolen.doc.config.digest, ...stolen.doc.layers.map((l: { digest: string }) => l.digest)]) layout.putBlob(new RawLayout(other.dir).blob(d));
  layout.tag(sigTag(image.manifest.digest), Buffer.from(JSON.stringify(stolen.doc)));
  assertRejected(berth(['verify', '--key', pub, ref]), new RegExp(`signature is for digest ${other.manifest.digest}, not ${image.manifest.digest}`));
});

test('attack: a signature for another repository under an exact-repository check', async (t) => {
  const { ref, key, pub } = await setup(t);
  sign(['--key', key, '--identity', '127.0.0.1:5000/other/app:v1', ref]);
  assertRejected(berth(['verify', '--key', pub, '--check-identity', 'repository', '--identity', '127.0.0.1:5000/demo/app', ref]), /not in repository 127\.0\.0\.1:5000\/demo\/app/);
});

test('attack: a .sig manifest with garbage layers is refused with reasons, and cannot hide a good signature', async (t) => {
  const { image, layout, ref, key, pub } = await setup(t);
  const junk = layout.putBlob(Buffer.from('\u0000garbage'));
  const config = layout.putBlob(Buffer.from('{}'));
  const missing = { digest: `sha256:${'ab'.repeat(32)}`, size: 10 };
  // A blob whose bytes were swapped on disk after it was stored under its digest.
  const tampered = layout.putBlob(Buffer.from('{"critical":{}}'));
  writeFileSync(join(layout.dir, 'blobs', 'sha256', tampered.digest.slice(7)), Buffer.from('{"critical":[]}'));
  const garbage = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
    layers: [
      { mediaType: 'application/octet-stream', ...junk },
      { mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json', ...junk },
      { mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json', ...junk, annotations: { 'dev.cosignproject.cosign/signature': '!!not base64!!' } },
      { mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json', ...missing, annotations: { 'dev.cosignproject.cosign/signature': 'AAAA' } },
      { mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json', ...junk, annotations: { 'dev.cosignproject.cosign/signature': 'MEUCIQ==' } },
      { mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json', ...tampered, annotations: { 'dev.cosignproject.cosign/signature': 'MEUCIQ==' } },
    ],
  };
  layout.tag(sigTag(image.manifest.digest), Buffer.from(JSON.stringify(garbage)));
  const r = berth(['verify', '--key', pub, ref]);
  assertRejected(r, /layer 0: media type application\/octet-stream/);
  assert.match(r.stderr, /layer 1: no dev\.cosignproject\.cosign\/signature annotation/);
  assert.match(r.stderr, /layer 2: signature annotation is not base64/);
  assert.match(r.stderr, /layer 3: .*missing/);
  assert.match(r.stderr, /layer 4: signature does not verify/);
  assert.match(r.stderr, /layer 5: .*does not match its digest/);
  // berth appends its good signature after the garbage; verification then succeeds on that one.
  sign(['--key', key, '--identity', IDENTITY, ref]);
  const ok = berth(['verify', '--key', pub, ref]);
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(JSON.parse(ok.stdout).length, 1);
  // A .sig tag that is not even a manifest.
  layout.tag(sigTag(image.manifest.digest), Buffer.from('{"schemaVersion":2,"layers":"no"}'));
  assertRejected(berth(['verify', '--key', pub, ref]), /tag sha256-[0-9a-f]{64}\.sig: .*layers must be an array/);
});

test('an unsigned image fails verification with a clear reason', async (t) => {
  const { ref, pub } = await setup(t);
  assertRejected(berth(['verify', '--key', pub, ref]), /no cosign signatures found/);
});

test('bad input: unknown transport, missing key, wrong passphrase give one line and a non-zero exit', async (t) => {
  const { dir, ref, key } = await setup(t);
  const a = berth(['sign', '--key', key, '--identity', IDENTITY, 'dir:/tmp/x']);
  assert.equal(a.status, 2);
  assert.match(a.stderr, /signatures are stored in registries/);
  const b = berth(['verify', '--key', join(dir, 'nope.pub'), ref]);
  assert.equal(b.status, 3);
  assert.match(b.stderr, /cannot read key/);
  const c = berth(['sign', '--key', key, '--identity', IDENTITY, ref], { env: { COSIGN_PASSWORD: 'wrong' } });
  assert.equal(c.status, 1);
  assert.match(c.stderr, /wrong passphrase/);
  const d = berth(['sign', '--key', key, ref], { env: PW });
  assert.equal(d.status, 2);
  assert.match(d.stderr, /pass --identity/);
  for (const r of [a, b, c, d]) assert.equal(r.stderr.trim().split('\n').length, 1);
});
