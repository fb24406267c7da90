import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { enterBuild, pruneBuildCache } from '../../src/store/buildCacheUse.js';
import { tempDir } from '../support/peers.js';

/** A build cache with two steps (one old), one dependency layer, their blobs, a stray blob, leftovers and a cache mount. */
function cacheWith(root: string): void {
  const blob = (hex: string, size: number) => writeFileSync(join(root, 'blobs', `sha256-${hex}`), Buffer.alloc(size));
  mkdirSync(join(root, 'blobs'), { recursive: true });
  for (const [key, hex] of [['old', 'a'.repeat(64)], ['new', 'b'.repeat(64)]] as const) {
    mkdirSync(join(root, 'steps', key, 'tree'), { recursive: true });
    writeFileSync(join(root, 'steps', key, 'step.json'), JSON.stringify({ descriptor: { digest: `sha256:${hex}`, size: 10 }, diffId: `sha256:${hex}` }));
    blob(hex, 10);
  }
  const twoWeeksAgo = new Date(Date.now() - 14 * 86_400_000);
  utimesSync(join(root, 'steps', 'old', 'step.json'), twoWeeksAgo, twoWeeksAgo);
  mkdirSync(join(root, 'node-deps'));
  writeFileSync(join(root, 'node-deps', 'k.json'), JSON.stringify({ descriptor: { digest: `sha256:${'c'.repeat(64)}` }, diffId: 'x' }));
  blob('c'.repeat(64), 20);
  blob('d'.repeat(64), 1000);
  mkdirSync(join(root, '.tmp-dead'));
  mkdirSync(join(root, 'chroot-dead'));
  mkdirSync(join(root, 'mounts', 'apt'), { recursive: true });
}

test('the build cache is pruned by age, keeps the blobs its remaining entries use, and is left alone while a build runs', async (t) => {
  const root = tempDir(t, 'berth-build-cache-');
  cacheWith(root);
  const leave = enterBuild(root);
  assert.match(pruneBuildCache(root).skipped ?? '', new RegExp(`a build is running \\(pid ${process.pid}\\)`));
  leave();

  // A build that died (its pid no longer lives) does not hold the cache.
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.on('exit', resolve));
  writeFileSync(join(root, 'builds', String(child.pid)), '');

  const week = pruneBuildCache(root, { olderThanMs: 7 * 86_400_000 });
  assert.deepEqual(week, { steps: 1, dependencyLayers: 0, blobs: 2, bytes: 1010 });
  assert.deepEqual(readdirSync(join(root, 'steps')), ['new']);
  assert.deepEqual(readdirSync(join(root, 'blobs')).sort(), [`sha256-${'b'.repeat(64)}`, `sha256-${'c'.repeat(64)}`]);
  assert.equal(existsSync(join(root, '.tmp-dead')) || existsSync(join(root, 'chroot-dead')), false, 'what dead builds left is gone');

  const all = pruneBuildCache(root);
  assert.deepEqual(all, { steps: 1, dependencyLayers: 1, blobs: 2, bytes: 30 });
  assert.deepEqual(readdirSync(join(root, 'blobs')), []);
  assert.ok(existsSync(join(root, 'mounts', 'apt')), 'RUN cache mounts stay');
});
