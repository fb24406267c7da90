import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { peer, tempDir } from '../support/peers.js';
import { berth } from '../support/runCli.js';
import { buildLayout } from '../support/ociImage.js';

function signerHome(t: TestContext, gpg: string) {
  const home = mkdtempSync(join(tmpdir(), 'bs-'));
  t.after(() => {
    spawnSync('gpgconf', ['--homedir', home, '--kill', 'gpg-agent'], { stdio: 'ignore' });
    rmSync(home, { recursive: true, force: true });
  });
  const env = { ...process.env, GNUPGHOME: home };
  execFileSync(gpg, ['--batch', '--passphrase', '', '--quick-gen-key', 'Standalone <s@example.com>', 'rsa2048', 'sign', '0'], { env, stdio: 'ignore' });
  const fingerprint = (execFileSync(gpg, ['--batch', '--with-colons', '--list-secret-keys'], { env, encoding: 'utf8' }).split('\n').find((l) => l.startsWith('fpr:')) as string).split(':')[9] as string;
  const pub = join(home, 'pub.asc');
  const sec = join(home, 'sec.asc');
  writeFileSync(pub, execFileSync(gpg, ['--batch', '--armor', '--export', fingerprint], { env }));
  writeFileSync(sec, execFileSync(gpg, ['--batch', '--armor', '--export-secret-keys', fingerprint], { env }));
  return { home, env, fingerprint, pub, sec };
}

test('standalone signatures: skopeo verifies berth, berth verifies skopeo; wrong reference or manifest is refused', async (t) => {
  const skopeo = peer(t, 'skopeo');
  const gpg = peer(t, 'gpg');
  if (!skopeo || !gpg) return;
  const dir = tempDir(t);
  const a = await buildLayout(join(dir, 'a'), 'v1', { layers: [[{ name: 'hello.txt', content: 'a' }]], cmd: ['/hello'] });
  const b = await buildLayout(join(dir, 'b'), 'v1', { layers: [[{ name: 'hello.txt', content: 'b' }]], cmd: ['/hello'] });
  writeFileSync(join(dir, 'a.json'), a.manifestBytes);
  writeFileSync(join(dir, 'b.json'), b.manifestBytes);
  const k = signerHome(t, gpg);
  const ref = 'registry.example/team/app:1';

  const bySkopeo = join(dir, 'skopeo.sig');
  execFileSync(skopeo, ['standalone-sign', join(dir, 'a.json'), ref, k.fingerprint, '-o', bySkopeo], { env: k.env, stdio: 'ignore' });
  const v1 = berth(['standalone-verify', '--public-key', k.pub, join(dir, 'a.json'), ref, bySkopeo]);
  assert.equal(v1.status, 0, v1.stderr);
  assert.equal(v1.stdout.trim(), `Signature verified using fingerprint ${k.fingerprint}, digest ${a.manifest.digest}`);

  const byBerth = join(dir, 'berth.sig');
  const s = berth(['standalone-sign', '--gpg-key', k.sec, '-o', byBerth, join(dir, 'a.json'), ref]);
  assert.equal(s.status, 0, s.stderr);
  const v2 = spawnSync(skopeo, ['standalone-verify', join(dir, 'a.json'), ref, k.fingerprint, byBerth], { env: k.env, encoding: 'utf8' });
  assert.equal(v2.status, 0, v2.stderr);
  assert.match(v2.stdout, new RegExp(`Signature verified.*${a.manifest.digest}`));

  const otherRef = berth(['standalone-verify', '--public-key', k.pub, join(dir, 'a.json'), 'registry.example/team/app:2', byBerth]);
  assert.equal(otherRef.status, 5);
  assert.match(otherRef.stderr, /is not registry\.example\/team\/app:2/);
  const otherManifest = berth(['standalone-verify', '--public-key', k.pub, join(dir, 'b.json'), ref, bySkopeo]);
  assert.equal(otherManifest.status, 5);
  assert.match(otherManifest.stderr, new RegExp(`signature is for digest ${a.manifest.digest}, not the manifest's ${b.manifest.digest}`));
  writeFileSync(join(dir, 'garbage.sig'), 'not an openpgp message');
  const garbage = berth(['standalone-verify', '--public-key', k.pub, join(dir, 'a.json'), ref, join(dir, 'garbage.sig')]);
  assert.equal(garbage.status, 5);
  assert.match(garbage.stderr, /not a valid OpenPGP signature/);
});

test('a passphrase-protected OpenPGP key signs with --passphrase-file, and says so when none is given', async (t) => {
  const gpg = peer(t, 'gpg');
  if (!gpg) return;
  const dir = tempDir(t);
  const home = mkdtempSync(join(tmpdir(), 'bp-'));
  t.after(() => {
    spawnSync('gpgconf', ['--homedir', home, '--kill', 'gpg-agent'], { stdio: 'ignore' });
    rmSync(home, { recursive: true, force: true });
  });
  const env = { ...process.env, GNUPGHOME: home };
  execFileSync(gpg, ['--batch', '--passphrase', 'sekret', '--quick-gen-key', 'Protected <p@example.com>', 'rsa2048', 'sign', '0'], { env, stdio: 'ignore' });
  const fingerprint = (execFileSync(gpg, ['--batch', '--with-colons', '--list-secret-keys'], { env, encoding: 'utf8' }).split('\n').find((l) => l.startsWith('fpr:')) as string).split(':')[9] as string;
  writeFileSync(join(dir, 'sec.asc'), execFileSync(gpg, ['--batch', '--pinentry-mode', 'loopback', '--passphrase', 'sekret', '--armor', '--export-secret-keys', fingerprint], { env }));
  writeFileSync(join(dir, 'pub.asc'), execFileSync(gpg, ['--batch', '--armor', '--export', fingerprint], { env }));
  writeFileSync(join(dir, 'pass'), 'sekret\n');
  const image = await buildLayout(join(dir, 'img'), 'v1', { layers: [[{ name: 'hello.txt', content: 'p' }]], cmd: ['/hello'] });
  writeFileSync(join(dir, 'm.json'), image.manifestBytes);
  const ok = berth(['standalone-sign', '--gpg-key', join(dir, 'sec.asc'), '--passphrase-file', join(dir, 'pass'), '-o', join(dir, 'sig'), join(dir, 'm.json'), 'registry.example/p:1']);
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(berth(['standalone-verify', '--public-key', join(dir, 'pub.asc'), join(dir, 'm.json'), 'registry.example/p:1', join(dir, 'sig')]).status, 0);
  const missing = berth(['standalone-sign', '--gpg-key', join(dir, 'sec.asc'), '-o', join(dir, 'sig2'), join(dir, 'm.json'), 'registry.example/p:1']);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /passphrase-protected .* give --passphrase-file/);
});
