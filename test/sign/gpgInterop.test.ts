import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { copyImage } from '../../src/copy/copyImage.js';
import { isBerthError } from '../../src/errors/BerthError.js';
import type { Digest } from '../../src/oci/digest.js';
import { carrySignatures } from '../../src/sign/carrySignatures.js';
import { evaluatePolicy, policySubjectFor } from '../../src/sign/policy/evaluatePolicy.js';
import { parsePolicy } from '../../src/sign/policy/policy.js';
import { loadRegistriesD } from '../../src/sign/policy/registriesD.js';
import '../../src/transports/allTransports.js';
import { parseImageReference } from '../../src/transports/transportRegistry.js';
import { berthBin, peer, tempDir } from '../support/peers.js';
import { berth } from '../support/runCli.js';
import { dockerRegistryFor } from '../support/dockerRegistry.js';
import { buildLayout } from '../support/ociImage.js';
import { gnupgHome } from '../support/gnupg.js';

async function setup(t: TestContext) {
  const skopeo = peer(t, 'skopeo');
  const gpg = peer(t, 'gpg');
  if (!skopeo || !gpg) return undefined;
  const host = (await dockerRegistryFor(t))?.registry.host;
  if (!host) return undefined;
  const dir = tempDir(t);
  const image = await buildLayout(join(dir, 'layout'), 'v1', { layers: [[{ name: 'hello.txt', content: `gpg ${Math.random()}` }]], cmd: ['/hello'] });
  const regd = join(dir, 'registries.d');
  mkdirSync(regd);
  const lookaside = join(dir, 'lookaside');
  writeFileSync(join(regd, 'lookaside.yaml'), `docker:\n  ${host}:\n    lookaside: file://${lookaside}\n`);
  const open = join(dir, 'open.json');
  writeFileSync(open, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
  const signer = gnupgHome(t, gpg, 'Signer');
  const stranger = gnupgHome(t, gpg, 'Stranger');
  const skopeoRun = (policy: string, args: string[], env: Record<string, string> = {}) =>
    spawnSync(skopeo, ['--policy', policy, '--registries.d', regd, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { dir, host, image, regd, lookaside, open, signer, stranger, skopeoRun };
}

function signedByPolicy(dir: string, host: string, keyPath: string, identity?: object): string {
  const file = join(dir, `signedby-${Math.random()}.json`);
  const requirement = { type: 'signedBy', keyType: 'GPGKeys', keyPath, ...(identity ? { signedIdentity: identity } : {}) };
  writeFileSync(file, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }], transports: { docker: { [`${host}/gpg`]: [requirement] } } }));
  return file;
}

test('berth verifies an image skopeo signed with --sign-by (lookaside storage)', async (t) => {
  const s = await setup(t);
  if (!s) return;
  const ref = `docker://${s.host}/gpg/skopeo:v1`;
  const pushed = s.skopeoRun(s.open, ['copy', '--dest-tls-verify=false', '--sign-by', s.signer.fingerprint, `oci:${s.image.dir}:v1`, ref], { GNUPGHOME: s.signer.home });
  assert.equal(pushed.status, 0, pushed.stderr);
  assert.ok(readdirSync(join(s.lookaside, 'gpg', 'skopeo@' + s.image.manifest.digest.replace(':', '='))).includes('signature-1'));
  const ok = berth(['verify', '--gpg-public-key', s.signer.publicKey, '--registries.d', s.regd, '--check-identity', 'exact', ref]);
  assert.equal(ok.status, 0, ok.stderr);
  const payload = JSON.parse(ok.stdout)[0];
  assert.equal(payload.critical.type, 'atomic container signature');
  assert.equal(payload.critical.image['docker-manifest-digest'], s.image.manifest.digest);
  const stranger = berth(['verify', '--gpg-public-key', s.stranger.publicKey, '--registries.d', s.regd, ref]);
  assert.equal(stranger.status, 5);
  assert.match(stranger.stderr, /not a trusted key/);
});

test('skopeo accepts an image berth signed with --gpg-key under a signedBy policy, and refuses it unsigned', async (t) => {
  const s = await setup(t);
  if (!s) return;
  const ref = `docker://${s.host}/gpg/berth:v1`;
  assert.equal(s.skopeoRun(s.open, ['copy', '--dest-tls-verify=false', `oci:${s.image.dir}:v1`, ref]).status, 0);
  const policy = signedByPolicy(s.dir, s.host, s.signer.publicKey);
  const before = s.skopeoRun(policy, ['copy', '--remove-signatures', '--src-tls-verify=false', ref, `oci:${join(s.dir, 'unsigned-out')}:v1`]);
  assert.notEqual(before.status, 0, 'skopeo must refuse the unsigned image');
  assert.match(before.stderr, /signature/i);
  const signed = berth(['sign', '--gpg-key', s.signer.secretKey, '--registries.d', s.regd, ref]);
  assert.equal(signed.status, 0, signed.stderr);
  const after = s.skopeoRun(policy, ['copy', '--remove-signatures', '--src-tls-verify=false', ref, `oci:${join(s.dir, 'signed-out')}:v1`]);
  assert.equal(after.status, 0, after.stderr);
  // The signature names this repository exactly; under another identity requirement skopeo refuses it.
  const otherIdentity = signedByPolicy(s.dir, s.host, s.signer.publicKey, { type: 'exactRepository', dockerRepository: `${s.host}/gpg/elsewhere` });
  const refused = s.skopeoRun(otherIdentity, ['copy', '--remove-signatures', '--src-tls-verify=false', ref, `oci:${join(s.dir, 'other-out')}:v1`]);
  assert.notEqual(refused.status, 0);
  assert.match(refused.stderr, /not accepted|does not match/i);
  // --sign-by-gpg uses the caller's keyring, as skopeo --sign-by does.
  const byFpr = spawnSync(berthBin, ['sign', '--sign-by-gpg', s.signer.fingerprint, '--registries.d', s.regd, ref], {
    env: { ...process.env, GNUPGHOME: s.signer.home },
    encoding: 'utf8',
  });
  assert.equal(byFpr.status, 0, byFpr.stderr);
  // Within the same second RSA signs the same payload to the same bytes, which are then not stored twice.
  assert.match(byFpr.stderr, /^(Signed|Already signed) sha256:/);
  const stored = readdirSync(join(s.lookaside, 'gpg', 'berth@' + s.image.manifest.digest.replace(':', '='))).sort();
  assert.deepEqual(stored, byFpr.stderr.startsWith('Signed') ? ['signature-1', 'signature-2'] : ['signature-1']);
});

test('evaluatePolicy: signedBy accepts the signed image and denies an unsigned one, another key, another identity', async (t) => {
  const s = await setup(t);
  if (!s) return;
  const signedRef = `docker://${s.host}/gpg/app:v1`;
  assert.equal(s.skopeoRun(s.open, ['copy', '--dest-tls-verify=false', '--sign-by', s.signer.fingerprint, `oci:${s.image.dir}:v1`, signedRef], { GNUPGHOME: s.signer.home }).status, 0);
  const registriesD = loadRegistriesD(s.regd);
  const policyFor = (keyPath: string, identity?: object) => {
    const file = signedByPolicy(s.dir, s.host, keyPath, identity);
    return parsePolicy(readFileSync(file, 'utf8'), file);
  };
  const subject = (ref: string) => policySubjectFor(parseImageReference(`docker://${ref}`), s.image.manifest.digest as Digest);
  const ok = await evaluatePolicy(policyFor(s.signer.publicKey), await subject(`${s.host}/gpg/app:v1`), registriesD);
  assert.equal(ok.scope, `${s.host}/gpg`);
  assert.match(ok.satisfied[0] as string, new RegExp(`signedBy: 1 OpenPGP signature\\(s\\) by ${s.signer.fingerprint}`));
  await assert.rejects(evaluatePolicy(policyFor(s.stranger.publicKey), await subject(`${s.host}/gpg/app:v1`), registriesD), (err) => isBerthError(err, 'POLICY_DENIED') && /not a trusted key/.test(err.message));
  await assert.rejects(evaluatePolicy(policyFor(s.signer.publicKey), await subject(`${s.host}/gpg/unsigned:v1`), registriesD), (err) => isBerthError(err, 'POLICY_DENIED') && /no OpenPGP signatures/.test(err.message));
  await assert.rejects(
    evaluatePolicy(policyFor(s.signer.publicKey, { type: 'exactReference', dockerReference: `${s.host}/gpg/app:v2` }), await subject(`${s.host}/gpg/app:v1`), registriesD),
    (err) => isBerthError(err, 'POLICY_DENIED') && /is not .*app:v2/.test(err.message),
  );
});

test('copy carries OpenPGP lookaside signatures between registries; into an OCI layout it refuses unless told to drop them', async (t) => {
  const s = await setup(t);
  if (!s) return;
  const srcRef = `docker://${s.host}/gpg/src:v1`;
  assert.equal(s.skopeoRun(s.open, ['copy', '--dest-tls-verify=false', '--sign-by', s.signer.fingerprint, `oci:${s.image.dir}:v1`, srcRef], { GNUPGHOME: s.signer.home }).status, 0);
  const registriesD = loadRegistriesD(s.regd);
  const registry = { registry: { tlsVerify: false } };
  const src = parseImageReference(srcRef);
  const dst = parseImageReference(`docker://${s.host}/gpg/dst:v1`);
  await copyImage(src, dst, { sourceOptions: registry, destinationOptions: registry, afterCommit: carrySignatures({ registriesD }) });
  await copyImage(src, dst, { sourceOptions: registry, destinationOptions: registry, afterCommit: carrySignatures({ registriesD }) });
  const copied = readdirSync(join(s.lookaside, 'gpg', 'dst@' + s.image.manifest.digest.replace(':', '=')));
  assert.deepEqual(copied, ['signature-1'], 'carried once, not duplicated');
  const policy = signedByPolicy(s.dir, s.host, s.signer.publicKey, { type: 'matchRepository' });
  const byRepo = s.skopeoRun(policy, ['copy', '--remove-signatures', '--src-tls-verify=false', `docker://${s.host}/gpg/dst:v1`, `oci:${join(s.dir, 'dst-out')}:v1`]);
  assert.notEqual(byRepo.status, 0, 'the signature names gpg/src, so a matchRepository policy on gpg/dst refuses it');
  const ok = berth(['verify', '--gpg-public-key', s.signer.publicKey, '--registries.d', s.regd, '--identity', `${s.host}/gpg/src`, `docker://${s.host}/gpg/dst:v1`]);
  assert.equal(ok.status, 0, ok.stderr);
  const layout = parseImageReference(`oci:${join(s.dir, 'layout-out')}:v1`);
  await assert.rejects(copyImage(src, layout, { sourceOptions: registry, afterCommit: carrySignatures({ registriesD }) }), (err) => isBerthError(err, 'UNSUPPORTED') && /--remove-signatures/.test(err.message));
  await copyImage(src, layout, { sourceOptions: registry, afterCommit: carrySignatures({ registriesD, carryExisting: false }) });
});
