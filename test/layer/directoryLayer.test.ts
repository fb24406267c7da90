import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, linkSync, lstatSync, lutimesSync, mkdirSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { test } from 'node:test';
import { applyLayer } from '../../src/layer/applyLayer.js';
import { createLayerFromDirectory, diffDirectories } from '../../src/layer/directoryLayer.js';
import { isRoot, peer, tempDir } from '../support/peers.js';
import { snapshot, tarMembers, writeFiles } from './treeSnapshot.js';

/** A small Node project as a builder stages it; `when` is the staging time, `owner` the staging user. */
function stage(dir: string, when: number, owner: number): void {
  for (const d of ['node_modules/left-pad/lib', 'src', '.git']) mkdirSync(join(dir, d), { recursive: true });
  writeFileSync(join(dir, 'package.json'), '{"name":"app"}\n');
  writeFileSync(join(dir, 'src/index.js'), 'console.log("hi")\n');
  writeFileSync(join(dir, 'node_modules/left-pad/package.json'), '{"name":"left-pad"}\n');
  writeFileSync(join(dir, 'node_modules/left-pad/lib/index.js'), 'module.exports = 1\n');
  writeFileSync(join(dir, '.git/HEAD'), 'ref: refs/heads/main\n');
  chmodSync(join(dir, 'src/index.js'), 0o755);
  for (const rel of ['package.json', 'src/index.js', 'node_modules/left-pad/package.json', 'node_modules/left-pad/lib/index.js', '.git/HEAD', 'src', '.git', 'node_modules/left-pad/lib', 'node_modules/left-pad', 'node_modules']) {
    if (isRoot()) chownSync(join(dir, rel), owner, owner);
    utimesSync(join(dir, rel), when, when);
  }
}

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

test('a layer from a staged tree with fixed times and owners has the same digest wherever, whenever and by whom it was staged', async (t) => {
  const dir = tempDir(t);
  stage(join(dir, 'first'), 1_600_000_000, 1000);
  stage(join(dir, 'elsewhere/second'), 1_700_000_000, 2000);
  const options = { prefix: '/app', mtime: new Date(0), uid: 0, gid: 0, exclude: (p: string) => p === 'app/.git' };
  const a = await buffer(createLayerFromDirectory(join(dir, 'first'), options));
  const b = await buffer(createLayerFromDirectory(join(dir, 'elsewhere/second'), options));
  assert.equal(sha256(a), sha256(b));
  const list = tarMembers(a);
  assert.ok(list.every((h) => h.mtime === 0 && h.uid === 0 && h.gid === 0));
  assert.ok(!list.some((h) => h.name.startsWith('app/.git')), 'an excluded directory goes with what is under it');
  assert.equal(list.find((h) => h.name === 'app/src/index.js')?.mode, 0o755, 'modes are content and stay');
  const unpinned = await buffer(createLayerFromDirectory(join(dir, 'first'), { prefix: 'app' }));
  assert.notEqual(sha256(unpinned), sha256(a), 'without pinning, the staging time shows');
});

test('include keeps matching entries and the directories leading to them; metadata sets owners and modes per entry', async (t) => {
  const dir = tempDir(t);
  stage(dir, 1_600_000_000, 1000);
  const dependencies = await buffer(
    createLayerFromDirectory(dir, {
      prefix: 'app',
      include: (p) => p.startsWith('app/node_modules/') && !p.endsWith('/lib'),
      metadata: (_path, type) => ({ mode: type === 'directory' ? 0o755 : 0o640, uid: 1000, gid: 1001 }),
    }),
  );
  const list = tarMembers(dependencies);
  assert.deepEqual(
    list.map((h) => h.name),
    ['app/', 'app/node_modules/', 'app/node_modules/left-pad/', 'app/node_modules/left-pad/lib/', 'app/node_modules/left-pad/lib/index.js', 'app/node_modules/left-pad/package.json'],
  );
  const root = tempDir(t);
  await applyLayer(root, Readable.from([dependencies]));
  const file = lstatSync(join(root, 'app/node_modules/left-pad/package.json'));
  assert.equal(file.mode & 0o7777, 0o640);
  if (isRoot()) assert.deepEqual([file.uid, file.gid], [1000, 1001]);
  assert.equal(lstatSync(join(root, 'app/node_modules')).mode & 0o7777, 0o755);
});

test('clampMtime caps times newer than the clamp and keeps older ones', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'old'), 'old');
  writeFileSync(join(dir, 'new'), 'new');
  utimesSync(join(dir, 'old'), 1_000_000_000, 1_000_000_000);
  utimesSync(join(dir, 'new'), 1_900_000_000, 1_900_000_000);
  const list = tarMembers(await buffer(createLayerFromDirectory(dir, { clampMtime: new Date(1_500_000_000_000) })));
  assert.deepEqual(
    list.map((h) => [h.name, h.mtime]),
    [
      ['new', 1_500_000_000],
      ['old', 1_000_000_000],
    ],
  );
});

test('diffDirectories misses no change that leaves size and mtime alone: content, mode, owner, capability, symlink target, hardlinks, deletions', async (t) => {
  if (!peer(t, 'setfattr') || !peer(t, 'getfattr')) return;
  const dir = tempDir(t);
  const lower = join(dir, 'lower');
  const files: Record<string, string> = {
    'etc/content': 'before',
    'etc/mode': 'mode',
    'etc/owner': 'owner',
    'etc/cap': 'cap',
    'etc/twin-a': 'twin',
    'etc/twin-b': 'twin',
    'etc/pair-a': 'pair',
    'etc/deep/gone': 'gone',
    'etc/same': 'same',
    'var/kept': 'kept',
  };
  writeFiles(lower, files);
  linkSync(join(lower, 'etc/pair-a'), join(lower, 'etc/pair-b'));
  symlinkSync('aaaa', join(lower, 'etc/link'));
  const when = 1_600_000_000;
  const touched = [...Object.keys(files), 'etc/pair-b', 'etc/link', 'etc/deep', 'etc', 'var'];
  for (const rel of touched) lutimesSync(join(lower, rel), when, when);
  const upper = join(dir, 'upper');
  execFileSync('cp', ['-a', lower, upper]);

  writeFileSync(join(upper, 'etc/content'), 'after!');
  chmodSync(join(upper, 'etc/mode'), 0o600);
  if (isRoot()) chownSync(join(upper, 'etc/owner'), 4242, 4242);
  if (isRoot()) execFileSync('setfattr', ['-n', 'security.capability', '-v', '0x0100000200040000000000000000000000000000', join(upper, 'etc/cap')]);
  else execFileSync('setfattr', ['-n', 'user.cap', '-v', '1', join(upper, 'etc/cap')]);
  unlinkSync(join(upper, 'etc/twin-b'));
  linkSync(join(upper, 'etc/twin-a'), join(upper, 'etc/twin-b'));
  unlinkSync(join(upper, 'etc/link'));
  symlinkSync('bbbb', join(upper, 'etc/link'));
  unlinkSync(join(upper, 'etc/deep/gone'));
  // Each change keeps size and every mtime (the parents' too) as they were.
  for (const rel of touched.filter((r) => r !== 'etc/deep/gone')) lutimesSync(join(upper, rel), when, when);

  const tar = await buffer(diffDirectories(lower, upper));
  const names = tarMembers(tar).map((h) => h.name);
  for (const changed of ['etc/content', 'etc/mode', 'etc/cap', 'etc/twin-a', 'etc/twin-b', 'etc/link', 'etc/deep/.wh..wh..opq']) {
    assert.ok(names.includes(changed), `${changed} is in the layer (have ${names.join(', ')})`);
  }
  if (isRoot()) assert.ok(names.includes('etc/owner'));
  for (const unchanged of ['etc/same', 'etc/pair-a', 'etc/pair-b', 'var/', 'var/kept']) assert.ok(!names.includes(unchanged), `${unchanged} is not`);

  const root = join(dir, 'root');
  execFileSync('cp', ['-a', lower, root]);
  await applyLayer(root, Readable.from([tar]));
  assert.deepEqual(snapshot(root), snapshot(upper));
});

test('diffDirectories leaves out what exclude names, in both trees', async (t) => {
  const dir = tempDir(t);
  for (const side of ['lower', 'upper']) mkdirSync(join(dir, side, 'proc'), { recursive: true });
  writeFileSync(join(dir, 'lower/proc/stale'), 'x');
  writeFileSync(join(dir, 'upper/proc/cpuinfo'), 'y');
  writeFileSync(join(dir, 'upper/real'), 'z');
  const names = tarMembers(await buffer(diffDirectories(join(dir, 'lower'), join(dir, 'upper'), { exclude: (p) => p === 'proc' }))).map((h) => h.name);
  assert.deepEqual(names, ['real']);
});
