import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeHostBinariesImage } from '../../../fixtures/base-image/makeNodeBaseImage.js';
import { isRoot, peer, tempDir } from '../../support/peers.js';
import { berthAsync } from '../../support/runCli.js';

test('the layer of a RUN made in place (--isolation chroot) carries the extended attributes the step set, as a container build does', async (t) => {
  if (!isRoot()) return t.skip('builds with RUN need root here');
  const setfattr = peer(t, 'setfattr');
  const getfattr = peer(t, 'getfattr');
  if (!setfattr || !getfattr) return;
  const dir = tempDir(t, 'berth-xattrs-');
  const base = await makeHostBinariesImage(join(dir, 'base'), [setfattr], 'attr');
  const context = join(dir, 'ctx');
  mkdirSync(context);
  writeFileSync(join(context, 'Dockerfile'), `FROM ${base}\nRUN touch /marked /plain && mkdir /d && setfattr -n user.berth -v hello /marked && setfattr -n user.dir -v 1 /d\n`);
  const attrs = (root: string, path: string) => spawnSync(getfattr, ['-d', '-m', '^user\\.', '--absolute-names', join(root, path)], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l.startsWith('user.'));
  const seen: Record<string, string[][]> = {};
  for (const isolation of ['chroot', 'container']) {
    const env = { BERTH_ROOT: join(dir, `root-${isolation}`) };
    const built = await berthAsync(['build', '-q', '--isolation', isolation, '-t', `oci:${join(dir, 'out')}:${isolation}`, context], { env });
    assert.equal(built.status, 0, built.stderr);
    const files = join(dir, `files-${isolation}`);
    assert.equal((await berthAsync(['unpack', `oci:${join(dir, 'out')}:${isolation}`, files], { env })).status, 0);
    seen[isolation] = ['marked', 'plain', 'd'].map((p) => attrs(join(files, 'rootfs'), p));
  }
  assert.deepEqual(seen.chroot, [['user.berth="hello"'], [], ['user.dir="1"']]);
  assert.deepEqual(seen.chroot, seen.container);
});
