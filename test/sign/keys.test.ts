import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { isBerthError } from '../../src/errors/BerthError.js';
import { openPrivateKey, sealPrivateKey } from '../../src/sign/keys/cosignKeyEnvelope.js';
import { generateCosignKeyPair, loadPrivateKey, loadPublicKey, signBytes, verifyBytes } from '../../src/sign/keys/keys.js';
import { formatPem, parsePem } from '../../src/sign/keys/pem.js';
import { peer, tempDir } from '../support/peers.js';

// A published interop vector for the envelope cosign uses (go-securesystemslib "encrypted", legacy scrypt parameters).
const VECTOR = Buffer.from(
  '{"kdf":{"name":"scrypt","params":{"N":32768,"r":8,"p":1},"salt":"WO3mVvyTwJ9vwT5/Tk5OW5WPIBUofMjcpEfrLnfY4uA="},"cipher":{"name":"nacl/secretbox","nonce":"tCy7HcTFr4uxv4Nrg/DWmncuZ148U1MX"},"ciphertext":"08n43p5G5yviPEZpO7tPPF4aZQkWiWjkv4taFdhDBA0tamKH4nw="}',
);

test('a secretbox envelope made by the Go implementation opens with the right passphrase only', () => {
  // That vector was made by Marshal, which JSON-encodes the plaintext bytes as a base64 string first.
  const opened = JSON.parse(openPrivateKey(VECTOR, Buffer.from('supersecret')).toString()) as string;
  assert.equal(Buffer.from(opened, 'base64').toString(), 'reallyimportant');
  assert.throws(() => openPrivateKey(VECTOR, Buffer.from('supersecreT')), (err) => isBerthError(err, 'KEY_INVALID') && /wrong passphrase/.test(err.message));
});

test('sealed keys round-trip and any bit flip in the ciphertext is detected', () => {
  const envelope = sealPrivateKey(Buffer.from('pkcs8 bytes'), Buffer.from('pw'));
  assert.deepEqual({ kdf: envelope.kdf.name, params: envelope.kdf.params, cipher: envelope.cipher.name }, { kdf: 'scrypt', params: { N: 32768, r: 8, p: 1 }, cipher: 'nacl/secretbox' });
  assert.equal(Buffer.from(envelope.kdf.salt, 'base64').length, 32);
  assert.equal(openPrivateKey(Buffer.from(JSON.stringify(envelope)), Buffer.from('pw')).toString(), 'pkcs8 bytes');
  const raw = Buffer.from(envelope.ciphertext, 'base64');
  raw[20] = (raw[20] as number) ^ 1;
  const tampered = { ...envelope, ciphertext: raw.toString('base64') };
  assert.throws(() => openPrivateKey(Buffer.from(JSON.stringify(tampered)), Buffer.from('pw')), (err) => isBerthError(err, 'KEY_INVALID'));
});

test('hostile envelopes are refused before scrypt runs', () => {
  const base = JSON.parse(VECTOR.toString()) as Record<string, any>;
  const huge = { ...base, kdf: { ...base.kdf, params: { N: 2 ** 30, r: 8, p: 1 } } };
  assert.throws(() => openPrivateKey(Buffer.from(JSON.stringify(huge)), Buffer.from('x')), /unsupported scrypt parameter N/);
  const otherCipher = { ...base, cipher: { ...base.cipher, name: 'aes' } };
  assert.throws(() => openPrivateKey(Buffer.from(JSON.stringify(otherCipher)), Buffer.from('x')), /unsupported cipher/);
  assert.throws(() => openPrivateKey(Buffer.from('not json'), Buffer.from('x')), /not a JSON envelope/);
});

test('generated cosign key pairs sign and verify, under both PEM names', async () => {
  const pair = generateCosignKeyPair(Buffer.from('pw'));
  assert.match(pair.privateKeyPem, /^-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n/);
  const key = await loadPrivateKey(pair.privateKeyPem, 'test key', { env: { COSIGN_PASSWORD: 'pw' } });
  assert.equal(key.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  const pub = loadPublicKey(pair.publicKeyPem, 'test pub');
  const sig = signBytes(key, Buffer.from('payload'));
  assert.ok(verifyBytes(pub, Buffer.from('payload'), sig));
  assert.ok(!verifyBytes(pub, Buffer.from('payloaD'), sig));
  const legacy = formatPem('ENCRYPTED COSIGN PRIVATE KEY', (parsePem(pair.privateKeyPem, 'k')[0] as { body: Buffer }).body);
  const again = await loadPrivateKey(legacy, 'legacy key', { env: { BERTH_PASSWORD: 'pw' } });
  assert.ok(verifyBytes(pub, Buffer.from('x'), signBytes(again, Buffer.from('x'))));
  await assert.rejects(loadPrivateKey(pair.privateKeyPem, 'test key', { env: { COSIGN_PASSWORD: 'wrong' } }), /wrong passphrase/);
});

test('passphrase files: first line, trailing newline ignored', async (t) => {
  const dir = tempDir(t);
  const pair = generateCosignKeyPair(Buffer.from('s3cret'));
  writeFileSync(join(dir, 'pass'), 's3cret\n');
  const key = await loadPrivateKey(pair.privateKeyPem, 'k', { passphraseFile: join(dir, 'pass'), env: { COSIGN_PASSWORD: 'other' } });
  assert.equal(key.type, 'private');
});

test('plain PKCS#8 keys made by openssl (ECDSA, Ed25519, RSA) are accepted; weak ones are not', async (t) => {
  const openssl = peer(t, 'openssl');
  if (!openssl) return;
  const dir = tempDir(t);
  const cases: [string, string[]][] = [
    ['ec', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']],
    ['ed', ['-algorithm', 'ED25519']],
    ['rsa', ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048']],
  ];
  for (const [name, args] of cases) {
    const file = join(dir, `${name}.pem`);
    execFileSync(openssl, ['genpkey', ...args, '-out', file], { stdio: 'ignore' });
    const key = await loadPrivateKey(readFileSync(file, 'utf8'), name, {});
    const pub = createPublicKey(createPrivateKey(readFileSync(file, 'utf8')));
    assert.ok(verifyBytes(pub, Buffer.from(name), signBytes(key, Buffer.from(name))), name);
  }
  const weak = join(dir, 'weak.pem');
  execFileSync(openssl, ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024', '-out', weak], { stdio: 'ignore' });
  await assert.rejects(loadPrivateKey(readFileSync(weak, 'utf8'), 'weak', {}), /shorter than 2048/);
  assert.throws(() => loadPublicKey('no pem here', 'junk'), /no PEM block/);
});
