import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeBaseImage } from '../../fixtures/base-image/makeBaseImage.js';
import { tempDir } from '../support/peers.js';
import { berth } from '../support/runCli.js';

test('--preserve-digests into docker-archive: is refused before anything is written, as skopeo refuses it', async (t) => {
  const dir = tempDir(t, 'berth-preserve-');
  await makeBaseImage(join(dir, 'layout'), { tag: 'bb' });
  const archive = join(dir, 'out.tar');
  const r = berth(['copy', '--preserve-digests', `oci:${join(dir, 'layout')}:bb`, `docker-archive:${archive}:x/y:1`]);
  assert.equal(r.status, 7, r.stderr);
  assert.match(r.stderr, /^berth: docker-archive:.* does not keep manifests .*--preserve-digests forbids\n$/);
  assert.equal(existsSync(archive), false);
  assert.deepEqual(readdirSync(dir).sort(), ['layout'], 'no temp file left beside the archive');
  // Into a format that keeps manifests the digest holds.
  const kept = berth(['copy', '--preserve-digests', `oci:${join(dir, 'layout')}:bb`, `oci:${join(dir, 'copy')}:bb`]);
  assert.equal(kept.status, 0, kept.stderr);
});
