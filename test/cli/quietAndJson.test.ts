import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeBaseImage } from '../../fixtures/base-image/makeBaseImage.js';
import { tempDir } from '../support/peers.js';
import { berth } from '../support/runCli.js';

test('--quiet on generate-key, sign, verify and delete prints nothing; --format json on verify, unpack and rmi is one JSON document', async (t) => {
  const dir = tempDir(t, 'berth-quiet-');
  const layout = join(dir, 'layout');
  await makeBaseImage(layout, { tag: 'bb' });
  const env = { BERTH_ROOT: join(dir, 'root'), COSIGN_PASSWORD: 'pw' };
  const quiet = (args: string[]) => {
    const r = berth(args, { env });
    assert.equal(r.status, 0, `${args[0]}: ${r.stderr}`);
    assert.equal(r.stdout + r.stderr, '', `${args[0]} --quiet printed something`);
  };
  writeFileSync(join(dir, 'pass'), 'pw\n');
  quiet(['generate-key', '-q', '--output-prefix', join(dir, 'k'), '--passphrase-file', join(dir, 'pass')]);
  quiet(['sign', '-q', '--identity', 'localhost/q:1', '--key', join(dir, 'k.key'), '--passphrase-file', join(dir, 'pass'), `oci:${layout}:bb`]);
  quiet(['verify', '-q', '--identity', 'localhost/q:1', '--key', join(dir, 'k.pub'), `oci:${layout}:bb`]);

  const verified = berth(['verify', '--format', 'json', '--identity', 'localhost/q:1', '--key', join(dir, 'k.pub'), `oci:${layout}:bb`], { env });
  assert.equal(verified.status, 0, verified.stderr);
  const report = JSON.parse(verified.stdout) as { digest: string; signatures: unknown[] };
  assert.match(report.digest, /^sha256:/);
  assert.equal(report.signatures.length, 1);

  const unpacked = berth(['unpack', '--format', 'json', `oci:${layout}:bb`, join(dir, 'bundle')], { env });
  assert.equal(unpacked.status, 0, unpacked.stderr);
  assert.deepEqual(Object.keys(JSON.parse(unpacked.stdout)).sort(), ['bundle', 'layers', 'manifestDigest']);

  assert.equal(berth(['copy', '-q', `oci:${layout}:bb`, 'berth:localhost/q:1'], { env }).status, 0);
  const removed = berth(['rmi', '--format', 'json', 'localhost/q:1'], { env });
  assert.equal(removed.status, 0, removed.stderr);
  const rows = JSON.parse(removed.stdout) as { image: string; untagged: string[]; blobsDeleted: number }[];
  assert.equal(rows.length, 1);
  assert.equal(rows[0]!.untagged.length, 1);
  assert.ok(rows[0]!.blobsDeleted > 0);

  quiet(['delete', '-q', `oci:${layout}:bb`]);
});
