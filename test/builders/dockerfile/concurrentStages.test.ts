import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeBaseImage } from '../../../fixtures/base-image/makeBaseImage.js';
import { isRoot, tempDir } from '../../support/peers.js';
import { berthAsync } from '../../support/runCli.js';

/** A RUN that leaves its mark in a shared cache mount and waits (at most 30 s) for the other stage's. */
const meet = (me: string, other: string) =>
  `RUN --mount=type=cache,id=meeting,target=/meet i=0; touch /meet/${me}; while [ ! -e /meet/${other} ]; do i=$((i+1)); [ $i -gt 300 ] && exit 9; sleep 0.1; done; echo "${me} met ${other}" > /${me}`;

test('independent stages build at the same time (each RUN waits for the other\'s), their progress prefixed; a failing stage stops the build with its own error', async (t) => {
  if (!isRoot()) return t.skip('RUN steps need root (berth-runc)');
  const dir = tempDir(t, 'berth-stages-');
  await makeBaseImage(join(dir, 'base'), { tag: 'bb' });
  const base = `oci:${join(dir, 'base')}:bb`;
  const context = join(dir, 'ctx');
  mkdirSync(context);
  writeFileSync(join(context, 'Dockerfile'), [
    `FROM ${base} AS left`,
    meet('left', 'right'),
    `FROM ${base} AS right`,
    meet('right', 'left'),
    `FROM ${base}`,
    'COPY --from=left /left /',
    'COPY --from=right /right /',
    '',
  ].join('\n'));
  const env = { BERTH_ROOT: join(dir, 'root') };
  const built = await berthAsync(['build', '-t', `oci:${join(dir, 'out')}:x`, context], { env });
  assert.equal(built.status, 0, built.stderr);
  assert.match(built.stderr, /^\[left\] STEP 2\/7: RUN /m);
  assert.match(built.stderr, /^\[right\] STEP 4\/7: RUN /m);
  assert.match(built.stderr, /^\[2\] STEP 6\/7: COPY \/left in \//m);
  assert.equal((await berthAsync(['unpack', `oci:${join(dir, 'out')}:x`, join(dir, 'files')], { env })).status, 0);
  assert.equal(readFileSync(join(dir, 'files', 'rootfs', 'left'), 'utf8'), 'left met right\n');
  assert.equal(readFileSync(join(dir, 'files', 'rootfs', 'right'), 'utf8'), 'right met left\n');

  writeFileSync(join(context, 'Dockerfile'), [
    `FROM ${base} AS slow`,
    'RUN sleep 20; touch /slow',
    `FROM ${base} AS broken`,
    'RUN echo compiling; exit 4',
    `FROM ${base}`,
    'COPY --from=slow /slow /',
    'COPY --from=broken / /',
    '',
  ].join('\n'));
  const failed = await berthAsync(['build', '-t', `oci:${join(dir, 'never')}:x`, context], { env });
  assert.equal(failed.status, 1);
  assert.match(failed.stderr, /\nberth: Dockerfile:4: RUN echo compiling; exit 4: exit status 4\n$/);
  assert.ok(!existsSync(join(dir, 'never')));
});
