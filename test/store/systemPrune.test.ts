import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { requireRuntime } from '../runtime/support/busyboxBundle.js';
import { berthSandbox } from '../runtime/support/berthSandbox.js';

test('berth system prune removes the unpacked images no container uses and keeps those a container does', async (t) => {
  if (!requireRuntime(t)) return;
  const s = await berthSandbox(t, 'berth-prune-');
  const cache = join(s.dir, 'root', 'rootfs-cache');
  const entries = () => readdirSync(cache).filter((n) => n.startsWith('sha256-') && !n.endsWith('.users'));

  assert.equal(s.berth(['run', '--rm', `oci:${s.layout}:bb`, 'true']).status, 0);
  assert.equal(entries().length, 1, 'berth run cached the unpacked image');
  const kept = s.berth(['run', '-d', '--name', 'keeper', `oci:${s.layout}:bb`, 'sleep', '60']);
  assert.equal(kept.status, 0, kept.stderr);
  const inUse = s.berth(['system', 'prune', '--format', 'json']);
  assert.equal(inUse.status, 0, inUse.stderr);
  assert.deepEqual(JSON.parse(inUse.stdout).rootfsCache, { removed: [], kept: [entries()[0]!.replace('-', ':')], orphans: 0 });

  assert.equal(s.berth(['rm', '-f', 'keeper']).status, 0);
  const pruned = s.berth(['system', 'prune']);
  assert.equal(pruned.status, 0, pruned.stderr);
  assert.equal(pruned.stdout.split('\n')[0], 'Removed 1 unpacked image(s) and 0 unfinished unpack(s); kept 0 in use');
  assert.deepEqual(entries(), []);
  assert.ok(existsSync(join(s.dir, 'root')), 'the data root itself stays');
  const again = s.berth(['run', '--rm', `oci:${s.layout}:bb`, 'sh', '-c', 'echo unpacked again']);
  assert.equal(again.stdout, 'unpacked again\n', again.stderr);

  const bad = s.berth(['system', 'clean']);
  assert.equal(bad.status, 2);
  assert.equal(bad.stderr.trim().split('\n').length, 1);
});
