import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { copyImage } from '../../src/copy/copyImage.js';
import { carrySignatures } from '../../src/sign/carrySignatures.js';
import { loadRegistriesD } from '../../src/sign/policy/registriesD.js';
import '../../src/transports/allTransports.js';
import { parseImageReference } from '../../src/transports/transportRegistry.js';
import { peer, tempDir } from '../support/peers.js';
import { berth } from '../support/runCli.js';
import { RawLayout, sigTag } from './support/rawLayout.js';
import { dockerRegistryFor } from '../support/dockerRegistry.js';
import { buildLayout } from '../support/ociImage.js';

const PW = { COSIGN_PASSWORD: 'pw' };

async function setup(t: TestContext) {
  const skopeo = peer(t, 'skopeo');
  const host = skopeo ? (await dockerRegistryFor(t))?.registry.host : undefined;
  if (!skopeo || !host) return undefined;
  const dir = tempDir(t);
  const image = await buildLayout(join(dir, 'layout'), 'v1', { layers: [[{ name: 'hello.txt', content: `hello ${Math.random()}` }]], cmd: ['/hello'] });
  const policy = join(dir, 'policy.json');
  writeFileSync(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
  const regd = join(dir, 'registries.d');
  mkdirSync(regd);
  writeFileSync(join(regd, 'attachments.yaml'), 'default-docker:\n  use-sigstore-attachments: true\n');
  const skopeoRun = (...args: string[]) => execFileSync(skopeo, ['--policy', policy, '--registries.d', regd, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  skopeoRun('copy', '--dest-tls-verify=false', `oci:${image.dir}:v1`, `docker://${host}/demo/app:v1`);
  assert.equal(berth(['generate-key', '--output-prefix', join(dir, 'k')], { env: PW }).status, 0);
  return { dir, host, image, skopeoRun, regd, key: join(dir, 'k.key'), pub: join(dir, 'k.pub'), ref: `docker://${host}/demo/app:v1` };
}

test('sign and verify in a registry; the identity defaults to the reference used', async (t) => {
  const s = await setup(t);
  if (!s) return;
  const signed = berth(['sign', '--key', s.key, s.ref], { env: PW });
  assert.equal(signed.status, 0, signed.stderr);
  assert.match(signed.stderr, new RegExp(`Signed ${s.image.manifest.digest} as ${s.host}/demo/app:v1`));
  const raw = JSON.parse(s.skopeoRun('inspect', '--raw', '--tls-verify=false', `docker://${s.host}/demo/app:${sigTag(s.image.manifest.digest)}`));
  assert.equal(raw.layers[0].mediaType, 'application/vnd.dev.cosign.simplesigning.v1+json');
  const verified = berth(['verify', '--key', s.pub, '--check-identity', 'exact', s.ref]);
  assert.equal(verified.status, 0, verified.stderr);
  assert.equal(JSON.parse(verified.stdout)[0].critical.identity['docker-reference'], `${s.host}/demo/app:v1`);
  const byDigest = berth(['verify', '--key', s.pub, `docker://${s.host}/demo/app@${s.image.manifest.digest}`]);
  assert.equal(byDigest.status, 0, byDigest.stderr);
});

test('skopeo with use-sigstore-attachments finds and copies berth .sig attachments; berth verifies the copy', async (t) => {
  const s = await setup(t);
  if (!s) return;
  assert.equal(berth(['sign', '--key', s.key, s.ref], { env: PW }).status, 0);
  s.skopeoRun('copy', '--src-tls-verify=false', '--dest-tls-verify=false', s.ref, `docker://${s.host}/mirror/app:v1`);
  const carried = JSON.parse(s.skopeoRun('inspect', '--raw', '--tls-verify=false', `docker://${s.host}/mirror/app:${sigTag(s.image.manifest.digest)}`));
  assert.equal(carried.layers.length, 1);
  const mirror = `docker://${s.host}/mirror/app:v1`;
  const ok = berth(['verify', '--key', s.pub, '--identity', `${s.host}/demo/app`, mirror]);
  assert.equal(ok.status, 0, ok.stderr);
  // Under the default repository check the mirror's own name does not match what was signed.
  const wrongRepo = berth(['verify', '--key', s.pub, mirror]);
  assert.equal(wrongRepo.status, 5);
  assert.match(wrongRepo.stderr, /signed for repository .*demo\/app, not .*mirror\/app/);
});

test('OCI 1.1 referrers on a registry without the referrers API use the tag-schema index', async (t) => {
  const s = await setup(t);
  if (!s) return;
  const r = berth(['sign', '--key', s.key, '--registry-referrers-mode', 'oci-1-1', s.ref], { env: PW });
  assert.equal(r.status, 0, r.stderr);
  const index = JSON.parse(s.skopeoRun('inspect', '--raw', '--tls-verify=false', `docker://${s.host}/demo/app:${s.image.manifest.digest.replace(':', '-')}`));
  assert.equal(index.manifests.length, 1);
  assert.equal(index.manifests[0].artifactType, 'application/vnd.dev.cosign.artifact.sig.v1+json');
  const v = berth(['verify', '--key', s.pub, s.ref]);
  assert.equal(v.status, 0, v.stderr);
});

test('copy carries cosign signatures (tag and referrers) between registries and into an OCI layout, without duplicates', async (t) => {
  const s = await setup(t);
  if (!s) return;
  assert.equal(berth(['sign', '--key', s.key, s.ref], { env: PW }).status, 0);
  assert.equal(berth(['sign', '--key', s.key, '--registry-referrers-mode', 'oci-1-1', s.ref], { env: PW }).status, 0);
  const registriesD = loadRegistriesD(join(s.dir, 'empty-registries.d'));
  const src = parseImageReference(s.ref);
  const other = parseImageReference(`docker://${s.host}/copied/app:v1`);
  const options = { sourceOptions: { registry: { tlsVerify: false } }, destinationOptions: { registry: { tlsVerify: false } }, afterCommit: carrySignatures({ registriesD }) };
  await copyImage(src, other, options);
  await copyImage(src, other, options);
  const ok = berth(['verify', '--key', s.pub, '--identity', `${s.host}/demo/app`, `docker://${s.host}/copied/app:v1`]);
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(JSON.parse(ok.stdout).length, 2, 'the .sig signature and the referrer, each once');
  const layoutDir = join(s.dir, 'out');
  await copyImage(src, parseImageReference(`oci:${layoutDir}:v1`), { ...options, destinationOptions: {} });
  const inLayout = berth(['verify', '--key', s.pub, '--identity', `${s.host}/demo/app`, `oci:${layoutDir}:v1`]);
  assert.equal(inLayout.status, 0, inLayout.stderr);
  assert.equal(JSON.parse(inLayout.stdout).length, 2);
  assert.equal(new RawLayout(layoutDir).manifestByTag(sigTag(s.image.manifest.digest)).doc.layers.length, 1);
  // An explicit use-sigstore-attachments: false for the destination's scope keeps attachments out of it.
  const optOut = join(s.dir, 'opt-out.d');
  mkdirSync(optOut);
  writeFileSync(join(optOut, 'x.yaml'), `docker:\n  ${s.host}/noattach:\n    use-sigstore-attachments: false\n`);
  await copyImage(src, parseImageReference(`docker://${s.host}/noattach/app:v1`), { ...options, afterCommit: carrySignatures({ registriesD: loadRegistriesD(optOut) }) });
  const none = berth(['verify', '--key', s.pub, '--identity', `${s.host}/demo/app`, `docker://${s.host}/noattach/app:v1`]);
  assert.equal(none.status, 5);
  assert.match(none.stderr, /no cosign signatures found/);
});
