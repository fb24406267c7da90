import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { isBerthError } from '../../src/errors/BerthError.js';
import type { Digest } from '../../src/oci/digest.js';
import { dockerScopes, parseDockerReference } from '../../src/reference/dockerReference.js';
import { evaluatePolicy, policySubjectFor, type PolicySubject } from '../../src/sign/policy/evaluatePolicy.js';
import { loadPolicy, parsePolicy } from '../../src/sign/policy/policy.js';
import { loadRegistriesD } from '../../src/sign/policy/registriesD.js';
import '../../src/transports/allTransports.js';
import { OciLayoutStore } from '../../src/transports/oci-layout/ociLayoutStore.js';
import { parseImageReference } from '../../src/transports/transportRegistry.js';
import { tempDir } from '../support/peers.js';
import { berth } from '../support/runCli.js';
import { buildLayout } from '../support/ociImage.js';

const PW = { COSIGN_PASSWORD: 'pw' };
const SIGNED_AS = '127.0.0.1:5000/demo/app:v1';

async function signedLayout(t: TestContext) {
  const dir = tempDir(t);
  const image = await buildLayout(join(dir, 'layout'), 'v1', { layers: [[{ name: 'hello.txt', content: 'policy' }]], cmd: ['/hello'] });
  const unsigned = await buildLayout(join(dir, 'unsigned'), 'v1', { layers: [[{ name: 'hello.txt', content: 'nobody signed me' }]], cmd: ['/hello'] });
  assert.equal(berth(['generate-key', '--output-prefix', join(dir, 'k')], { env: PW }).status, 0);
  assert.equal(berth(['generate-key', '--output-prefix', join(dir, 'other')], { env: PW }).status, 0);
  const r = berth(['sign', '--key', join(dir, 'k.key'), '--identity', SIGNED_AS, `oci:${image.dir}:v1`], { env: PW });
  assert.equal(r.status, 0, r.stderr);
  const policy = (doc: unknown) => {
    const file = join(dir, `policy-${Math.random()}.json`);
    writeFileSync(file, JSON.stringify(doc));
    return loadPolicy(file);
  };
  const oci = (layoutDir: string, digest: string): Promise<PolicySubject> => policySubjectFor(parseImageReference(`oci:${layoutDir}:v1`), digest as Digest);
  // A registry-named image whose cosign signatures are read from the layout: the docker scopes and identity rules without a registry.
  const asDocker = (name: string): PolicySubject => {
    const ref = parseDockerReference(name);
    return { transport: 'docker', description: `docker://${ref.domain}/${ref.path}`, policyScopes: dockerScopes(ref), dockerReference: ref, artifacts: new OciLayoutStore(image.dir), digest: image.manifest.digest as Digest };
  };
  return { dir, image, unsigned, policy, oci, asDocker, pub: join(dir, 'k.pub'), otherPub: join(dir, 'other.pub') };
}

const none = loadRegistriesD('/nonexistent-registries.d');

function denied(pattern: RegExp) {
  return (err: unknown) => isBerthError(err, 'POLICY_DENIED') && pattern.test(err.message);
}

test('sigstoreSigned with keyPath (relative to the policy file) and keyData; other keys and unsigned images are denied', async (t) => {
  const s = await signedLayout(t);
  const byPath = s.policy({ default: [{ type: 'sigstoreSigned', keyPath: 'k.pub', signedIdentity: { type: 'exactRepository', dockerRepository: '127.0.0.1:5000/demo/app' } }] });
  const decision = await evaluatePolicy(byPath, await s.oci(s.image.dir, s.image.manifest.digest), none);
  assert.deepEqual(decision, { scope: 'default', satisfied: ['sigstoreSigned: 1 signature(s)'] });
  const byData = s.policy({ default: [{ type: 'sigstoreSigned', keyData: readFileSync(s.pub).toString('base64'), signedIdentity: { type: 'exactReference', dockerReference: SIGNED_AS } }] });
  await evaluatePolicy(byData, await s.oci(s.image.dir, s.image.manifest.digest), none);
  const otherKey = s.policy({ default: [{ type: 'sigstoreSigned', keyPath: s.otherPub, signedIdentity: { type: 'exactRepository', dockerRepository: '127.0.0.1:5000/demo/app' } }] });
  await assert.rejects(evaluatePolicy(otherKey, await s.oci(s.image.dir, s.image.manifest.digest), none), denied(/does not verify with the given key/));
  await assert.rejects(evaluatePolicy(byPath, await s.oci(s.unsigned.dir, s.unsigned.manifest.digest), none), denied(/is not trusted: no cosign signatures found/));
});

test('attack: a signature for another repository under an exactRepository policy', async (t) => {
  const s = await signedLayout(t);
  const p = s.policy({ default: [{ type: 'sigstoreSigned', keyPath: s.pub, signedIdentity: { type: 'exactRepository', dockerRepository: '127.0.0.1:5000/production/app' } }] });
  await assert.rejects(evaluatePolicy(p, await s.oci(s.image.dir, s.image.manifest.digest), none), denied(/not in repository 127\.0\.0\.1:5000\/production\/app/));
});

test('signedIdentity forms against the reference the image is pulled by', async (t) => {
  const s = await signedLayout(t);
  const req = (signedIdentity?: object) => s.policy({ default: [{ type: 'sigstoreSigned', keyPath: s.pub, ...(signedIdentity ? { signedIdentity } : {}) }] });
  await evaluatePolicy(req(), s.asDocker(SIGNED_AS), none);
  await evaluatePolicy(req(), s.asDocker(`127.0.0.1:5000/demo/app@${s.image.manifest.digest}`), none);
  await assert.rejects(evaluatePolicy(req(), s.asDocker('127.0.0.1:5000/demo/app:v2'), none), denied(/is not 127\.0\.0\.1:5000\/demo\/app:v2/));
  await assert.rejects(evaluatePolicy(req({ type: 'matchExact' }), s.asDocker(`127.0.0.1:5000/demo/app@${s.image.manifest.digest}`), none), denied(/has no tag/));
  await evaluatePolicy(req({ type: 'matchRepository' }), s.asDocker('127.0.0.1:5000/demo/app:v2'), none);
  await assert.rejects(evaluatePolicy(req({ type: 'matchRepository' }), s.asDocker('mirror.example/demo/app:v1'), none), denied(/signed for repository/));
  await evaluatePolicy(req({ type: 'remapIdentity', prefix: 'mirror.example/demo', signedPrefix: '127.0.0.1:5000/demo' }), s.asDocker('mirror.example/demo/app:v1'), none);
  await assert.rejects(
    evaluatePolicy(req({ type: 'remapIdentity', prefix: 'mirror.example/other', signedPrefix: '127.0.0.1:5000/demo' }), s.asDocker('mirror.example/demo/app:v1'), none),
    denied(/is not mirror\.example\/demo\/app:v1/),
  );
});

test('reject, insecureAcceptAnything and the most specific scope win', async (t) => {
  const s = await signedLayout(t);
  const doc = {
    default: [{ type: 'reject' }],
    transports: {
      oci: { [s.image.dir]: [{ type: 'insecureAcceptAnything' }], [`${s.unsigned.dir}:v1`]: [{ type: 'sigstoreSigned', keyPath: s.pub }] },
      docker: { '127.0.0.1:5000/demo': [{ type: 'insecureAcceptAnything' }], '127.0.0.1:5000': [{ type: 'reject' }], '': [{ type: 'reject' }] },
    },
  };
  const p = s.policy(doc);
  assert.equal((await evaluatePolicy(p, await s.oci(s.image.dir, s.image.manifest.digest), none)).scope, s.image.dir);
  await assert.rejects(evaluatePolicy(p, await s.oci(s.unsigned.dir, s.unsigned.manifest.digest), none), denied(/no cosign signatures/));
  assert.equal((await evaluatePolicy(p, s.asDocker('127.0.0.1:5000/demo/app:v1'), none)).scope, '127.0.0.1:5000/demo');
  await assert.rejects(evaluatePolicy(p, s.asDocker('127.0.0.1:5000/else/app:v1'), none), denied(/scope 127\.0\.0\.1:5000\).*policy rejects/));
  await assert.rejects(evaluatePolicy(p, s.asDocker('quay.io/x/y:1'), none), denied(/policy rejects/));
  await assert.rejects(evaluatePolicy(p, await policySubjectFor(parseImageReference('dir:/nonexistent'), s.image.manifest.digest as Digest), none), denied(/policy rejects/));
  const needsSignature = s.policy({ default: [{ type: 'sigstoreSigned', keyPath: s.pub }] });
  await assert.rejects(evaluatePolicy(needsSignature, await policySubjectFor(parseImageReference('dir:/nonexistent'), s.image.manifest.digest as Digest), none), denied(/dir transport cannot carry/));
});

test('policy files berth does not fully understand are refused, not half-enforced', () => {
  const bad = (doc: unknown, pattern: RegExp) => assert.throws(() => parsePolicy(JSON.stringify(doc), '/tmp/p.json'), (err) => isBerthError(err) && pattern.test(err.message));
  bad({ default: [] }, /non-empty list/);
  bad({ default: [{ type: 'trustMe' }] }, /unknown requirement type/);
  bad({ default: [{ type: 'reject', extra: 1 }] }, /unknown field "extra"/);
  bad({ default: [{ type: 'signedBy', keyType: 'X509Certificates', keyPath: '/k' }] }, /keyType "X509Certificates" is not supported/);
  bad({ default: [{ type: 'sigstoreSigned' }] }, /exactly one of keyPath/);
  bad({ default: [{ type: 'sigstoreSigned', keyData: 'AAAA', signedIdentity: { type: 'exactRepository', dockerRepository: 'a/b:tag' } }] }, /must not include a tag/);
  bad({ default: [{ type: 'sigstoreSigned', keyData: 'AAAA', signedIdentity: { type: 'whatever' } }] }, /unknown signedIdentity type/);
  assert.throws(() => parsePolicy(JSON.stringify({ default: [{ type: 'sigstoreSigned', fulcio: {}, signedIdentity: { type: 'matchRepository' } }] }), '/tmp/p.json'), (err) => isBerthError(err, 'NOT_IMPLEMENTED'));
  assert.throws(() => parsePolicy('{', '/tmp/p.json'), /not valid JSON/);
});

test('berth verify --policy: accepted with the decision as JSON; an unsigned image under a requiring policy exits 5', async (t) => {
  const s = await signedLayout(t);
  const file = join(s.dir, 'cli-policy.json');
  writeFileSync(file, JSON.stringify({ default: [{ type: 'sigstoreSigned', keyPath: s.pub, signedIdentity: { type: 'exactRepository', dockerRepository: '127.0.0.1:5000/demo/app' } }] }));
  const ok = berth(['verify', '--policy', file, `oci:${s.image.dir}:v1`]);
  assert.equal(ok.status, 0, ok.stderr);
  assert.deepEqual(JSON.parse(ok.stdout).satisfied, ['sigstoreSigned: 1 signature(s)']);
  const no = berth(['verify', '--policy', file, `oci:${s.unsigned.dir}:v1`]);
  assert.equal(no.status, 5);
  assert.match(no.stderr, /^berth: oci:.*unsigned@sha256:[0-9a-f]{64} \(policy .*cli-policy\.json, scope default\) is not trusted: no cosign signatures found/);
});
