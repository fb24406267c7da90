import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, linkSync, mkdirSync, rmSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { Readable } from 'node:stream';
import { test, type TestContext } from 'node:test';
import { isBerthError } from '../../src/errors/BerthError.js';
import { applyLayer } from '../../src/layer/applyLayer.js';
import { overlayUpperLayer } from '../../src/layer/overlayLayer.js';
import { isRoot, peer, tempDir } from '../support/peers.js';
import { fsPath, shWithPath, snapshot, tarMembers, writeFiles } from './treeSnapshot.js';

// VFS_CAP_REVISION_2: CAP_NET_BIND_SERVICE permitted, effective flag set.
const CAPABILITY = '0x0100000200040000000000000000000000000000';
/** "n<0xff><newline>x": a name that is neither UTF-8 nor free of newlines. */
const ODD_NAME = Buffer.from([0x6e, 0xff, 0x0a, 0x78]).toString('latin1');

interface Overlay {
  lower: string;
  upper: string;
  merged: string;
  unmount(): void;
}

/** A real overlay mount, or a skipped test where the kernel or the user cannot make one. */
function mountOverlay(t: TestContext, dir: string, extra: string[] = []): Overlay | undefined {
  if (!isRoot()) {
    t.skip('overlay mounts need root');
    return undefined;
  }
  const o = { lower: join(dir, 'lower'), upper: join(dir, 'upper'), merged: join(dir, 'merged'), work: join(dir, 'work') };
  for (const d of [o.upper, o.merged, o.work]) mkdirSync(d, { recursive: true });
  const options = [`lowerdir=${o.lower}`, `upperdir=${o.upper}`, `workdir=${o.work}`, 'redirect_dir=nofollow', 'metacopy=off', 'index=off', ...extra];
  try {
    execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', options.join(','), o.merged], { stdio: 'pipe' });
  } catch (err) {
    t.skip(`cannot mount overlay here: ${(err as { stderr?: Buffer }).stderr?.toString().trim()}`);
    return undefined;
  }
  let mounted = true;
  const unmount = (): void => {
    if (!mounted) return;
    execFileSync('umount', [o.merged]);
    mounted = false;
  };
  t.after(unmount);
  return { ...o, unmount };
}

function setfattr(abs: string, name: string, value: string): void {
  execFileSync('setfattr', ['-h', '-n', name, '-v', value, abs]);
}

test('an overlay upper directory becomes a layer that turns the lower tree into what the merged view showed', async (t) => {
  if (!peer(t, 'setfattr') || !peer(t, 'getfattr')) return;
  const dir = tempDir(t);
  const lower = join(dir, 'lower');
  writeFiles(lower, {
    'etc/config': 'setting=1\n',
    'etc/keep': 'unchanged\n',
    'bin/tool': '#!/bin/sh\n',
    'bin/ping': 'ping binary\n',
    'data/owned': 'owned\n',
    old: 'to delete\n',
    'cache/a': 'a\n',
    'cache/sub/b': 'b\n',
    'was-file': 'a file\n',
    'was-dir/child': 'child\n',
    'same/untouched': 'same\n',
  });
  setfattr(join(lower, 'same/untouched'), 'user.origin', 'lower');
  symlinkSync('etc/config', join(lower, 'link'));
  const overlay = mountOverlay(t, dir);
  if (!overlay) return;
  const m = (rel: string): string => join(overlay.merged, rel);

  writeFileSync(m('etc/config'), 'setting=2, a longer value\n');
  chmodSync(m('bin/tool'), 0o4755);
  chownSync(m('data/owned'), 1234, 5678);
  unlinkSync(m('old'));
  rmSync(m('cache'), { recursive: true });
  mkdirSync(m('cache'), { mode: 0o750 });
  writeFileSync(m('cache/fresh'), 'fresh\n');
  setfattr(m('bin/ping'), 'security.capability', CAPABILITY);
  setfattr(m('etc/config'), 'user.note', 'edited');
  unlinkSync(m('link'));
  symlinkSync('etc/keep', m('link'));
  mkdirSync(m('new/deeper'), { recursive: true });
  writeFileSync(m('new/deeper/file'), 'new file\n');
  linkSync(m('new/deeper/file'), m('new/hard'));
  linkSync(m('etc/keep'), m('etc/keep-again'));
  unlinkSync(m('was-file'));
  mkdirSync(m('was-file'));
  writeFileSync(m('was-file/inside'), 'now a directory\n');
  rmSync(m('was-dir'), { recursive: true });
  writeFileSync(m('was-dir'), 'now a file\n');
  execFileSync('mkfifo', ['-m', '0640', m('new/fifo')]);
  writeFileSync(fsPath(overlay.merged, ODD_NAME), 'odd name\n');
  shWithPath('setfattr -n user.odd -v 1 "$1"', fsPath(overlay.merged, ODD_NAME));
  utimesSync(m('new/deeper/file'), 1_700_000_000, 1_700_000_000);
  const expected = snapshot(overlay.merged);
  overlay.unmount();

  const tar = await buffer(overlayUpperLayer(overlay.upper));
  const byName = new Map(tarMembers(tar).map((h) => [h.name, h]));
  assert.ok(byName.has('.wh.old'), 'a deleted file becomes a whiteout');
  assert.ok(byName.has('cache/.wh..wh..opq'), 'a removed and recreated directory is opaque');
  assert.ok(!byName.has('cache/.wh.a'), 'an opaque directory needs no whiteouts of its own');
  assert.equal(byName.get('new/hard')?.type, 'hardlink');
  assert.equal(byName.get('new/hard')?.linkname, 'new/deeper/file', 'the link points at the first name in sorted order');
  assert.equal(byName.get('bin/ping')?.xattrs.get('security.capability')?.toString('hex'), CAPABILITY.slice(2));
  assert.equal(byName.get(ODD_NAME)?.xattrs.get('user.odd')?.toString(), '1', 'names that are not UTF-8 keep their bytes and attributes');
  assert.ok(!byName.has('etc/keep') || byName.get('etc/keep-again')?.type === 'hardlink');
  assert.ok(!byName.has('same/untouched') && !byName.has('same/'), 'what the run did not touch is not in the layer');
  assert.ok(!tar.includes('trusted.overlay') && !tar.includes('user.overlay'), "overlay's own attributes never reach a layer");
  for (const h of tarMembers(tar)) assert.notEqual(h.type, 'char-device', `${h.name}: overlay whiteout devices are not layer members`);

  const root = join(dir, 'root');
  execFileSync('cp', ['-a', lower, root]);
  const result = await applyLayer(root, Readable.from([tar]));
  assert.deepEqual(result.warnings, []);
  assert.deepEqual(snapshot(root), expected);
});

test('overlay layers: exclude drops mount points, mtime pins every time, owners can be fixed, userxattr mounts are read', async (t) => {
  const dir = tempDir(t);
  mkdirSync(join(dir, 'lower/etc'), { recursive: true });
  mkdirSync(join(dir, 'lower/var/lib/stale'), { recursive: true });
  writeFileSync(join(dir, 'lower/etc/hostname'), 'old\n');
  writeFileSync(join(dir, 'lower/var/lib/stale/x'), 'x\n');
  const overlay = mountOverlay(t, dir, ['userxattr']);
  if (!overlay) return;
  writeFileSync(join(overlay.merged, 'etc/resolv.conf'), '');
  mkdirSync(join(overlay.merged, 'proc'));
  writeFileSync(join(overlay.merged, 'etc/hostname'), 'new\n');
  chownSync(join(overlay.merged, 'etc/hostname'), 1000, 1000);
  rmSync(join(overlay.merged, 'var/lib/stale'), { recursive: true });
  mkdirSync(join(overlay.merged, 'var/lib/stale'));
  overlay.unmount();

  const epoch = new Date(1_234_567_000 * 1000);
  const mountPoints = new Set(['etc/resolv.conf', 'proc']);
  const tar = await buffer(overlayUpperLayer(overlay.upper, { userxattr: true, exclude: (p) => mountPoints.has(p), mtime: epoch, uid: 0, gid: 0 }));
  const list = tarMembers(tar);
  assert.deepEqual(
    list.map((h) => h.name),
    ['etc/', 'etc/hostname', 'var/', 'var/lib/', 'var/lib/stale/', 'var/lib/stale/.wh..wh..opq'],
  );
  for (const h of list) {
    assert.equal(h.mtime, 1_234_567_000, `${h.name}: pinned mtime`);
    assert.deepEqual([h.uid, h.gid], [0, 0], `${h.name}: fixed owner`);
  }
  assert.ok(!tar.includes('user.overlay'));
  const again = await buffer(overlayUpperLayer(overlay.upper, { userxattr: true, exclude: (p) => mountPoints.has(p), mtime: epoch, uid: 0, gid: 0 }));
  assert.ok(again.equals(tar), 'the same upper gives the same bytes');
});

test('an upper written with redirect_dir or metacopy is refused, not turned into a layer missing files', async (t) => {
  if (!isRoot()) return t.skip('trusted.* attributes need root');
  if (!peer(t, 'setfattr')) return;
  const upper = tempDir(t);
  mkdirSync(join(upper, 'renamed'));
  setfattr(join(upper, 'renamed'), 'trusted.overlay.redirect', '/original');
  await assert.rejects(buffer(overlayUpperLayer(upper)), (err) => isBerthError(err, 'UNSUPPORTED') && /renamed.*redirect_dir=nofollow,metacopy=off/.test(err.message));
});
