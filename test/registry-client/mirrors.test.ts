import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { peer, tempDir } from '../support/peers.js';
import { startDockerRegistry } from '../support/dockerRegistry.js';
import { buildRandomLayout } from '../support/ociImage.js';
import { berthAsync, ok, run } from '../support/runCli.js';

test('registries.conf: pulls go to a mirror first (by pull-from-mirror), pushes never do, blocked registries are refused', async (t) => {
  const skopeo = peer(t, 'skopeo');
  const binary = peer(t, 'docker-registry');
  if (!skopeo || !binary) return;
  const dir = tempDir(t);
  const primary = await startDockerRegistry(binary, join(dir, 'primary'));
  t.after(() => primary.stop());
  const mirror = await startDockerRegistry(binary, join(dir, 'mirror'));
  t.after(() => mirror.stop());
  const image = await buildRandomLayout(join(dir, 'layout'), 'v1');
  // Only the mirror holds the image.
  await ok(run(skopeo, ['copy', '--dest-tls-verify=false', `oci:${join(dir, 'layout')}:v1`, `docker://${mirror.host}/lib/app:v1`]), 'seed mirror');

  const conf = (pull: string): string => {
    const path = join(dir, `registries-${pull}.conf`);
    writeFileSync(path, `[[registry]]\nprefix = "${primary.host}/team"\nlocation = "${primary.host}/team"\n[[registry.mirror]]\nlocation = "${mirror.host}/lib"\npull-from-mirror = "${pull}"\n\n[[registry]]\nlocation = "blocked.invalid"\nblocked = true\n`);
    return path;
  };

  const viaMirror = await ok(berthAsync(['inspect', '--registries-conf', conf('all'), '--no-tags', `docker://${primary.host}/team/app:v1`]), 'inspect through the mirror');
  assert.equal((JSON.parse(viaMirror.stdout) as { Digest: string }).Digest, image.manifest.digest);

  // digest-only: a tag is never looked up on the mirror, a digest is.
  const byTag = await berthAsync(['inspect', '--registries-conf', conf('digest-only'), '--no-tags', `docker://${primary.host}/team/app:v1`]);
  assert.equal(byTag.status, 3, byTag.stderr);
  await ok(berthAsync(['inspect', '--registries-conf', conf('digest-only'), '--no-tags', `docker://${primary.host}/team/app@${image.manifest.digest}`]), 'by digest through the mirror');

  // A copy pulls from the mirror and pushes to the primary, never to the mirror.
  await ok(berthAsync(['copy', '--registries-conf', conf('all'), `docker://${primary.host}/team/app:v1`, `docker://${primary.host}/team/copy:v1`]), 'copy');
  await ok(run(skopeo, ['inspect', '--tls-verify=false', `docker://${primary.host}/team/copy:v1`]), 'the copy is on the primary');
  const onMirror = await run(skopeo, ['inspect', '--tls-verify=false', `docker://${mirror.host}/lib/copy:v1`]);
  assert.notEqual(onMirror.status, 0, 'nothing was pushed to the mirror');

  const blocked = await berthAsync(['inspect', '--registries-conf', conf('all'), 'docker://blocked.invalid/x:y']);
  assert.equal(blocked.status, 5);
  assert.match(blocked.stderr, /^berth: registry blocked\.invalid is blocked in .*registries-all\.conf\n$/);

  writeFileSync(join(dir, 'bad.conf'), '[[registry]]\nprefix = ');
  const bad = await berthAsync(['inspect', '--registries-conf', join(dir, 'bad.conf'), `docker://${primary.host}/team/app:v1`]);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /^berth: .*bad\.conf/);
});
