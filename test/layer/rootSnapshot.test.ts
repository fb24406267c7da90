import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { applyLayer } from '../../src/layer/applyLayer.js';
import { KeptPaths } from '../../src/layer/keptPaths.js';
import { TreeSnapshot } from '../../src/layer/rootSnapshot.js';
import { writeTar } from '../../src/layer/tarWriter.js';
import { opaqueMember, whiteoutMember } from '../../src/layer/whiteout.js';
import { isRoot, tempDir } from '../support/peers.js';
import { snapshot, tarMembers, writeFiles } from './treeSnapshot.js';

test('the layer of a snapshot\'s changes turns a copy of the old tree into the new one, missing no kind of change', async (t) => {
  const dir = tempDir(t);
  const root = join(dir, 'root');
  writeFiles(root, {
    'etc/config': 'setting=1\n',
    'etc/same-size': 'aaaa\n',
    'bin/tool': '#!/bin/sh\n',
    'old/dir/deep/file': 'gone\n',
    'keep/me': 'unchanged\n',
    'links/target-a': 'a\n',
    'links/target-b': 'b\n',
    'kept/cache': 'never in a layer\n',
  });
  symlinkSync('target-a', join(root, 'links/current'));
  const copy = join(dir, 'copy');
  execFileSync('cp', ['-a', `${root}/.`, copy]);
  const keep = new KeptPaths(['kept']);
  const before = await TreeSnapshot.take(root, { skip: (rel) => keep.isKept(rel) });

  // Same size and mtime put back: only ctime tells that the content changed.
  const { mtime } = statSync(join(root, 'etc/same-size'));
  writeFileSync(join(root, 'etc/same-size'), 'bbbb\n');
  utimesSync(join(root, 'etc/same-size'), mtime, mtime);
  writeFileSync(join(root, 'etc/config'), 'setting=2\n');
  chmodSync(join(root, 'bin/tool'), 0o755);
  if (isRoot()) chownSync(join(root, 'bin/tool'), 1, 2);
  unlinkSync(join(root, 'links/current'));
  symlinkSync('target-b', join(root, 'links/current'));
  linkSync(join(root, 'links/target-b'), join(root, 'links/hard'));
  rmSync(join(root, 'old'), { recursive: true });
  mkdirSync(join(root, 'new/nested'), { recursive: true });
  writeFileSync(join(root, 'new/nested/file'), 'new\n');
  renameSync(join(root, 'keep/me'), join(root, 'keep/moved'));
  writeFileSync(join(root, 'kept/cache'), 'changed, still never in a layer\n');
  writeFileSync(join(root, 'mount-target'), 'left out by the caller\n');

  const { tar } = await before.changes({ skip: (rel) => rel === 'mount-target' });
  const bytes = await buffer(tar);
  const names = tarMembers(bytes).map((m) => m.name);
  assert.ok(names.includes('old/.wh.dir') === false && names.includes('.wh.old'), 'a deleted directory is one whiteout');
  assert.ok(!names.some((n) => n.startsWith('kept')), 'kept paths are not in the layer');
  assert.ok(!names.includes('mount-target'));
  assert.ok(!names.includes('links/target-a'), 'an untouched file is not in the layer');
  await applyLayer(copy, Readable.from([bytes]));
  // The caller keeps kept paths itself: put back exactly what it has, mtime included (a second may have passed).
  writeFileSync(join(copy, 'kept/cache'), readFileSync(join(root, 'kept/cache')));
  const cache = statSync(join(root, 'kept/cache'));
  utimesSync(join(copy, 'kept/cache'), cache.atime, cache.mtime);
  rmSync(join(root, 'mount-target'));
  assert.deepEqual(snapshot(copy), snapshot(root));
});

test('a layer applied around kept paths neither writes, replaces nor deletes them', async (t) => {
  const root = tempDir(t);
  writeFiles(root, { 'proc/version': 'kernel\n', 'workspace/src/main.c': 'int main;\n', 'etc/passwd': 'old\n', 'etc/hosts': 'pod hosts\n' });
  const keep = new KeptPaths(['proc', 'workspace', 'etc/hosts']);
  const tar = writeTar([
    opaqueMember(''),
    { path: Buffer.from('etc'), type: 'directory', mode: 0o755, uid: 0, gid: 0 },
    { path: Buffer.from('etc/passwd'), type: 'file', mode: 0o644, uid: 0, gid: 0, content: Buffer.from('new\n') },
    { path: Buffer.from('etc/hosts'), type: 'file', mode: 0o644, uid: 0, gid: 0, content: Buffer.from('image hosts\n') },
    { path: Buffer.from('proc/evil'), type: 'file', mode: 0o644, uid: 0, gid: 0, content: Buffer.from('x\n') },
    whiteoutMember('workspace'),
    { path: Buffer.from('workspace'), type: 'symlink', mode: 0o777, uid: 0, gid: 0, linkname: Buffer.from('/tmp') },
  ]);
  await applyLayer(root, tar, { keep });
  assert.equal(readFileSync(join(root, 'etc/passwd'), 'utf8'), 'new\n');
  assert.equal(readFileSync(join(root, 'etc/hosts'), 'utf8'), 'pod hosts\n');
  assert.equal(readFileSync(join(root, 'workspace/src/main.c'), 'utf8'), 'int main;\n');
  assert.equal(readFileSync(join(root, 'proc/version'), 'utf8'), 'kernel\n');
  assert.throws(() => statSync(join(root, 'proc/evil')));
});
