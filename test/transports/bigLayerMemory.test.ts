import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { berthBin, tempDir } from '../support/peers.js';
import { buildLayoutWithBigLayer } from '../support/ociImage.js';

const LAYER_BYTES = 1024 * 1024 * 1024;
const LIMIT_KB = 120 * 1024;
const preload = new URL('./support/reportPeakRss.js', import.meta.url).href;

/** Run `berth copy` in a child and return its peak RSS in kB. */
function copyPeakRss(dir: string, from: string, to: string, label: string): number {
  const peakFile = join(dir, `peak-${label}`);
  const result = spawnSync(process.execPath, ['--import', preload, berthBin, 'copy', '-q', from, to], {
    encoding: 'utf8',
    env: { ...process.env, BERTH_PEAK_RSS_FILE: peakFile },
  });
  assert.equal(result.status, 0, `berth copy ${from} ${to}: ${result.stderr}`);
  const peak = Number(readFileSync(peakFile, 'utf8'));
  assert.ok(peak > 0, 'no peak RSS reported');
  return peak;
}

test('copying a 1 GiB layer between local transports peaks under 120 MB RSS', async (t) => {
  const dir = tempDir(t);
  const src = join(dir, 'src');
  const image = await buildLayoutWithBigLayer(src, 'big', LAYER_BYTES);
  const layer = image.layers[0];
  assert.ok(layer && layer.size > LAYER_BYTES);

  const toOci = copyPeakRss(dir, `oci:${src}:big`, `oci:${join(dir, 'dst')}:big`, 'oci');
  assert.equal(statSync(join(dir, 'dst', 'blobs', 'sha256', layer.digest.slice(7))).size, layer.size);
  const toDir = copyPeakRss(dir, `oci:${src}:big`, `dir:${join(dir, 'dst-dir')}`, 'dir');
  assert.equal(statSync(join(dir, 'dst-dir', layer.digest.slice(7))).size, layer.size);
  t.diagnostic(`peak RSS: oci:→oci: ${(toOci / 1024).toFixed(1)} MB, oci:→dir: ${(toDir / 1024).toFixed(1)} MB`);
  assert.ok(toOci < LIMIT_KB, `oci: → oci: peaked at ${toOci} kB`);
  assert.ok(toDir < LIMIT_KB, `oci: → dir: peaked at ${toDir} kB`);
});
