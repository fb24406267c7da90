import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import { copyImage } from '../../src/copy/copyImage.js';
import '../../src/transports/allTransports.js';
import { parseImageReference } from '../../src/transports/transportRegistry.js';
import { berthBin, peer, tempDir } from '../support/peers.js';
import { buildLayout, buildLayoutWithBigLayer } from '../support/ociImage.js';
import { validateLayout } from './support/ociImageTool.js';

const KILLS = 20;
const IMAGE_BYTES = 50 * 1024 * 1024;

/** Run `berth copy` and SIGKILL it after `delayMs` (if still running); resolves with how it ended. */
function copyAndKill(from: string, to: string, delayMs: number): Promise<{ killed: boolean; code: number | null; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(process.execPath, [berthBin, 'copy', '-q', from, to], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const timer = delayMs >= 0 ? setTimeout(() => child.kill('SIGKILL'), delayMs) : undefined;
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal === null && code !== 0) reject(new Error(`berth copy failed (${code}): ${stderr}`));
      else resolve({ killed: signal === 'SIGKILL', code, ms: Date.now() - started });
    });
  });
}

function tags(layout: string): string[] {
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: { annotations?: Record<string, string> }[] };
  return index.manifests.map((m) => m.annotations?.['org.opencontainers.image.ref.name'] ?? '').sort();
}

test(`kill -9 at ${KILLS} random moments of a copy into an OCI layout leaves it valid (or absent), and a rerun completes`, async (t) => {
  const validator = peer(t, 'oci-image-tool');
  if (!validator) return;
  const dir = tempDir(t);
  const src = join(dir, 'src');
  await buildLayoutWithBigLayer(src, 'v', IMAGE_BYTES);
  const existing = join(dir, 'existing');
  await buildLayout(join(dir, 'old-src'), 'old', { layers: [[{ name: 'old', content: 'old content\n' }]] });
  await copyImage(parseImageReference(`oci:${join(dir, 'old-src')}:old`), parseImageReference(`oci:${existing}:old`));

  // Uninterrupted runs tell how long a copy takes here, so that the kills spread over all of it.
  const runs: number[] = [];
  for (let i = 0; i < 3; i++) runs.push((await copyAndKill(`oci:${src}:v`, `oci:${join(dir, `timing-${i}`)}:v`, -1)).ms);
  const span = Math.max(Math.min(...runs) * 0.95, 200);

  let killedMidway = 0;
  for (let i = 0; i < KILLS; i++) {
    // Every fourth run writes a layout that does not exist yet; the others add to one holding an older image.
    const fresh = i % 4 === 0;
    const target = fresh ? join(dir, `fresh-${i}`) : existing;
    if (!fresh && tags(existing).includes('new')) await parseImageReference(`oci:${existing}:new`).deleteImage?.();
    const delay = Math.floor(Math.random() * span);
    const outcome = await copyAndKill(`oci:${src}:v`, `oci:${target}:new`, delay);
    if (outcome.killed) killedMidway++;
    const where = `kill ${i} after ${delay} ms (${fresh ? 'fresh layout' : 'existing layout'})`;
    if (fresh && !existsSync(join(target, 'oci-layout'))) {
      assert.equal(existsSync(join(target, 'index.json')), false, `${where}: a half-created layout was left`);
    } else {
      const check = validateLayout(validator, target);
      assert.equal(check.status, 0, `${where}: ${check.stderr}${check.stdout}`);
      if (!fresh) assert.ok(tags(existing).includes('old'), `${where}: the older image was lost`);
    }
    const rerun = await copyAndKill(`oci:${src}:v`, `oci:${target}:new`, -1);
    assert.equal(rerun.code, 0, `${where}: rerun failed`);
    const after = validateLayout(validator, target);
    assert.equal(after.status, 0, `${where}: after rerun: ${after.stderr}`);
    assert.ok(tags(target).includes('new'), `${where}: rerun did not tag the image`);
    const leftovers = readdirSync(join(target, 'blobs', 'sha256')).filter((n) => !/^[0-9a-f]{64}$/.test(n));
    assert.deepEqual(leftovers, [], `${where}: temp files of the killed copy were not cleaned by the rerun`);
    const staging = readdirSync(dir).filter((n) => n.startsWith(`.${basename(target)}.berth-tmp-`));
    assert.deepEqual(staging, [], `${where}: a staging directory of the killed copy was left`);
  }
  t.diagnostic(`${killedMidway} of ${KILLS} kills landed mid-copy (runs take about ${Math.round(span)} ms)`);
  assert.ok(killedMidway >= KILLS / 2, `only ${killedMidway} of ${KILLS} kills landed before the copy finished`);
  assert.deepEqual(tags(existing), ['new', 'old']);
});
