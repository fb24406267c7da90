import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeBaseImage } from '../../fixtures/base-image/makeBaseImage.js';
import { tempDir } from '../support/peers.js';
import { berth } from '../support/runCli.js';

test('berth copy enforces containers-policy.json before writing anything; --insecure-policy skips it', async (t) => {
  const dir = tempDir(t);
  await makeBaseImage(join(dir, 'src'), { tag: 'a' });
  const reject = join(dir, 'reject.json');
  writeFileSync(reject, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }], transports: { oci: { '': [{ type: 'reject' }] } } }));

  const refused = berth(['copy', '--policy', reject, `oci:${dir}/src:a`, `oci:${dir}/dst:a`]);
  assert.equal(refused.status, 5, refused.stderr);
  assert.equal(refused.stderr.trim().split('\n').length, 1, refused.stderr);
  assert.ok(!existsSync(join(dir, 'dst', 'index.json')), 'a refused image must leave nothing at the destination');

  const allowed = berth(['copy', '--insecure-policy', '-q', `oci:${dir}/src:a`, `oci:${dir}/dst:a`]);
  assert.equal(allowed.status, 0, allowed.stderr);
  assert.ok(existsSync(join(dir, 'dst', 'index.json')));

  const both = berth(['copy', '--insecure-policy', '--policy', reject, `oci:${dir}/src:a`, `oci:${dir}/dst:b`]);
  assert.equal(both.status, 2);
});
