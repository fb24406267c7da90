import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { RegistryClient } from '../../registry/client/RegistryClient.js';
import { closeDispatchers } from '../../registry/client/dispatcher.js';
import { berthBin, peer } from '../support/peers.js';
import { buildRandomLayout } from '../support/ociImage.js';
import { berthAsync, ok, run } from '../support/runCli.js';
import { dockerRegistryFor } from '../support/dockerRegistry.js';

test.after(() => closeDispatchers());

test('kill -9 of a push at random moments, then a rerun completes and skopeo reads the image', async (t) => {
  const skopeo = peer(t, 'skopeo');
  const setup = await dockerRegistryFor(t);
  if (!skopeo || !setup) return;
  const { registry, dir } = setup;
  const layout = join(dir, 'layout');
  const image = await buildRandomLayout(layout, 'v1', [{ file0: 1_500_000 }, { file1: 1_500_000 }, { file2: 1_500_000 }, { file3: 1_500_000 }, { file4: 1_500_000 }, { file5: 1_500_000 }]);
  const target = `docker://${registry.host}/killed/app:v1`;
  const client = new RegistryClient(registry.host, { tlsVerify: false, retryTimes: 0 });
  const seed = Date.now();
  t.diagnostic(`kill delays derived from seed ${seed}`);
  let state = seed;
  const random = (): number => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };

  for (let round = 0; round < 5; round++) {
    const child = spawn(process.execPath, [berthBin, 'copy', '--quiet', `oci:${layout}:v1`, target], { stdio: 'ignore' });
    const closed = new Promise((resolve) => child.once('close', resolve));
    await sleep(150 + Math.floor(random() * 500));
    child.kill('SIGKILL');
    await closed;
    // Whatever moment the kill hit, a visible tag always means a complete image.
    const head = await client.headManifest('killed/app', 'v1');
    t.diagnostic(`round ${round}: killed ${child.exitCode === null ? 'mid-push' : 'after it finished'}; tag ${head ? 'visible' : 'absent'}`);
    if (head) {
      assert.equal(head.digest, image.manifest.digest);
      await ok(run(skopeo, ['copy', '--src-tls-verify=false', target, `oci:${join(dir, `after-kill-${round}`)}:v1`]), `image visible after kill ${round} is complete`);
    }
  }
  await ok(berthAsync(['copy', `oci:${layout}:v1`, target]), 'rerun after kills');
  const pulled = join(dir, 'pulled');
  await ok(run(skopeo, ['copy', '--src-tls-verify=false', target, `oci:${pulled}:v1`]), 'skopeo reads the finished push');
  const inspected = JSON.parse((await ok(run(skopeo, ['inspect', `oci:${pulled}:v1`]), 'inspect')).stdout) as { Digest: string };
  assert.equal(inspected.Digest, image.manifest.digest);
});
