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

test('a copy into docker-archive: reports the digest the archive is read back with, not the OCI one it had', async (t) => {
  const dir = tempDir(t, 'berth-archive-digest-');
  await makeBaseImage(join(dir, 'layout'), { tag: 'bb' });
  const archive = join(dir, 'out.tar');
  const copied = berth(['copy', '--format', 'json', `oci:${join(dir, 'layout')}:bb`, `docker-archive:${archive}:x/y:1`]);
  assert.equal(copied.status, 0, copied.stderr);
  const reported = JSON.parse(copied.stdout) as { manifestDigest: string; mediaType: string };
  const readBack = JSON.parse(berth(['inspect', `docker-archive:${archive}`]).stdout) as { Digest: string };
  assert.equal(reported.manifestDigest, readBack.Digest);
  assert.equal(reported.mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
  const source = JSON.parse(berth(['inspect', `oci:${join(dir, 'layout')}:bb`]).stdout) as { Digest: string };
  assert.notEqual(reported.manifestDigest, source.Digest, 'the OCI digest does not survive the format');
});
