import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildLayout } from '../support/ociImage.js';
import { peer, tempDir } from '../support/peers.js';
import { KEY_PASSWORD, signedLayout } from '../support/signedLayout.js';
import { gnupgHome } from '../support/gnupg.js';
import { startRegistryServer } from '../../registry/server/index.js';
import { berth, berthAsync } from '../support/runCli.js';

test('a signed image is refused before any byte by destinations that cannot hold its signatures (docker-archive, cosign into dir:), naming --remove-signatures', async (t) => {
  const dir = tempDir(t, 'berth-signed-dest-');
  const image = await signedLayout(dir, 'registry.example/app:v1');
  const out = join(dir, 'out');
  mkdirSync(out);

  for (const [destination, written] of [
    [`docker-archive:${join(out, 'img.tar')}`, join(out, 'img.tar')],
    [`dir:${join(out, 'img-dir')}`, join(out, 'img-dir')],
  ] as const) {
    const before = readdirSync(out).sort();
    const r = berth(['copy', '--insecure-policy', `oci:${image.dir}:v1`, destination]);
    assert.equal(r.status, 7, `${destination}: ${r.stderr}`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /cannot store cosign signatures; use --remove-signatures/);
    assert.ok(!existsSync(written), `${destination}: nothing may be written before the refusal`);
    assert.deepEqual(readdirSync(out).sort(), before, 'not even a temp file');

    const removed = berth(['copy', '--insecure-policy', '--remove-signatures', `oci:${image.dir}:v1`, destination]);
    assert.equal(removed.status, 0, `${destination} with --remove-signatures: ${removed.stderr}`);
    assert.ok(existsSync(written));
  }
});

test('sync --dest dir of a signed repository: one error line, a summary, nothing written, the first failure\'s exit status', async (t) => {
  const dir = tempDir(t, 'berth-signed-sync-');
  const server = await startRegistryServer({ addr: '127.0.0.1:0', root: join(dir, 'registry') });
  t.after(() => server.close());
  const image = await buildLayout(join(dir, 'src'), 'v1', { layers: [[{ name: 'a.txt', content: 'signed' }]], cmd: ['/a'] });
  for (const tag of ['v1', 'v2']) assert.equal((await berthAsync(['copy', `oci:${image.dir}:v1`, `docker://${server.host}/team/app:${tag}`])).status, 0);
  assert.equal(berth(['generate-key', '--output-prefix', join(dir, 'k')], { env: KEY_PASSWORD }).status, 0);
  const signed = await berthAsync(['sign', '--key', join(dir, 'k.key'), `docker://${server.host}/team/app:v1`], { env: { ...process.env, ...KEY_PASSWORD } });
  assert.equal(signed.status, 0, signed.stderr);

  const out = join(dir, 'out');
  mkdirSync(out);
  const r = await berthAsync(['sync', '--insecure-policy', '--parallel-images', '1', '--src', 'docker', '--dest', 'dir', `${server.host}/team/app`, out]);
  assert.equal(r.status, 7, r.stderr);
  // The repository's tags are the signature's (sha256-HEX.sig, an image like any other, as skopeo syncs it), v1 and v2.
  const lines = r.stderr.trim().split('\n');
  const errors = lines.filter((l) => l.startsWith('berth:'));
  assert.equal(errors.length, 1, r.stderr);
  assert.match(errors[0]!, /^berth: sync docker:\/\/.*team\/app:v1: .*cannot store cosign signatures; use --remove-signatures/);
  assert.equal(lines.at(-1), 'Synced 2 image(s): 1 copied, 0 unchanged, 1 failed, 1 not started (a failure stops the sync; --keep-going goes on)');
  assert.ok(!existsSync(join(out, 'app:v1')) && !existsSync(join(out, 'app:v2')), 'nothing of the refused image, and nothing after it');

  const removed = await berthAsync(['sync', '--insecure-policy', '--remove-signatures', '--src', 'docker', '--dest', 'dir', `${server.host}/team/app`, out]);
  assert.equal(removed.status, 0, removed.stderr);
  assert.match(removed.stderr, /Synced 3 image\(s\): 3 copied, 0 unchanged, 0 failed\n$/);
  assert.ok(existsSync(join(out, 'app:v1', 'manifest.json')) && existsSync(join(out, 'app:v2', 'manifest.json')));
});

test('dir: keeps OpenPGP simple signatures as skopeo does (signature-N), and carries them on to a registry\'s lookaside', async (t) => {
  const gpg = peer(t, 'gpg');
  const skopeo = peer(t, 'skopeo');
  if (!gpg || !skopeo) return;
  const dir = tempDir(t, 'berth-dir-sigs-');
  const server = await startRegistryServer({ addr: '127.0.0.1:0', root: join(dir, 'registry') });
  t.after(() => server.close());
  const regd = join(dir, 'registries.d');
  const lookaside = join(dir, 'lookaside');
  mkdirSync(regd);
  writeFileSync(join(regd, 'lookaside.yaml'), `docker:\n  ${server.host}:\n    lookaside: file://${lookaside}\n`);
  const signer = gnupgHome(t, gpg, 'Signer');
  const image = await buildLayout(join(dir, 'src'), 'v1', { layers: [[{ name: 'a.txt', content: 'gpg' }]], cmd: ['/a'] });
  const digest = image.manifest.digest;
  assert.equal((await berthAsync(['copy', `oci:${image.dir}:v1`, `docker://${server.host}/gpg/app:v1`])).status, 0);
  const signed = await berthAsync(['sign', '--gpg-key', signer.secretKey, '--registries.d', regd, `docker://${server.host}/gpg/app:v1`]);
  assert.equal(signed.status, 0, signed.stderr);
  const signature = readFileSync(join(lookaside, 'gpg', `app@${digest.replace(':', '=')}`, 'signature-1'));

  const out = join(dir, 'out');
  const copied = await berthAsync(['copy', '--insecure-policy', '--registries.d', regd, `docker://${server.host}/gpg/app:v1`, `dir:${out}`]);
  assert.equal(copied.status, 0, copied.stderr);
  assert.deepEqual(readFileSync(join(out, 'signature-1')), signature);
  assert.ok(!existsSync(join(out, 'signature-2')));

  // skopeo reads them: its signedBy policy for dir: passes only on a good signature-1.
  const policy = join(dir, 'policy.json');
  const requirement = { type: 'signedBy', keyType: 'GPGKeys', keyPath: signer.publicKey, signedIdentity: { type: 'exactReference', dockerReference: `${server.host}/gpg/app:v1` } };
  writeFileSync(policy, JSON.stringify({ default: [{ type: 'reject' }], transports: { dir: { '': [requirement] }, oci: { '': [{ type: 'insecureAcceptAnything' }] } } }));
  const skopeoCheck = () => spawnSync(skopeo, ['--policy', policy, 'copy', '--remove-signatures', `dir:${out}`, `oci:${join(dir, 'checked')}:v1`], { encoding: 'utf8' });
  const checked = skopeoCheck();
  assert.equal(checked.status, 0, checked.stderr);

  // And on from dir: to another repository's lookaside.
  const onward = await berthAsync(['copy', '--insecure-policy', '--registries.d', regd, `dir:${out}`, `docker://${server.host}/gpg/copy:v1`]);
  assert.equal(onward.status, 0, onward.stderr);
  assert.deepEqual(readFileSync(join(lookaside, 'gpg', `copy@${digest.replace(':', '=')}`, 'signature-1')), signature);

  writeFileSync(join(out, 'signature-1'), 'not a signature');
  assert.notEqual(skopeoCheck().status, 0, 'skopeo refuses the dir once its signature is bad');
});

test('oci-archive: holds cosign signatures in its layout, as cosign save does', async (t) => {
  const dir = tempDir(t, 'berth-archive-sigs-');
  const image = await signedLayout(dir, 'registry.example/app:v1');
  const archive = join(dir, 'img.tar');
  const r = berth(['copy', '--insecure-policy', `oci:${image.dir}:v1`, `oci-archive:${archive}:v1`]);
  assert.equal(r.status, 0, r.stderr);
  const extracted = join(dir, 'extracted');
  mkdirSync(extracted);
  spawnSync('tar', ['-xf', archive, '-C', extracted]);
  const index = JSON.parse(readFileSync(join(extracted, 'index.json'), 'utf8')) as { manifests: { annotations?: Record<string, string> }[] };
  assert.deepEqual(index.manifests.map((m) => m.annotations?.['org.opencontainers.image.ref.name']).sort(), [`${image.manifest.digest.replace(':', '-')}.sig`, 'v1']);
  const verified = berth(['verify', '--key', join(dir, 'k.pub'), '--identity', 'registry.example/app:v1', `oci:${extracted}:v1`]);
  assert.equal(verified.status, 0, verified.stderr);
});
