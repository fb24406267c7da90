import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, utimesSync, writeFileSync, linkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { buffer } from 'node:stream/consumers';
import { Readable } from 'node:stream';
import { applyLayer } from '../../src/layer/applyLayer.js';
import { createLayerFromDirectory, diffDirectories } from '../../src/layer/directoryLayer.js';
import { writeTar } from '../../src/layer/tarWriter.js';
import { peer, tempDir } from '../support/peers.js';
import { file, pax, tarOf } from '../../fixtures/hostile-tars/tarBytes.js';

function listing(root: string, rel = '', out: string[] = []): string[] {
  for (const name of readdirSync(join(root, rel)).sort()) {
    const path = rel === '' ? name : `${rel}/${name}`;
    const st = lstatSync(join(root, path));
    let line = `${path} ${st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : 'f'} ${(st.mode & 0o7777).toString(8)}`;
    if (st.isSymbolicLink()) line += ` -> ${readlinkSync(join(root, path))}`;
    if (st.isFile()) line += ` ${readFileSync(join(root, path), 'utf8')}`;
    out.push(line);
    if (st.isDirectory()) listing(root, path, out);
  }
  return out;
}

test('whiteouts remove lower entries; opaque directories hide lower contents but keep this layer', async (t) => {
  const root = tempDir(t);
  await applyLayer(root, writeTar([
    { path: 'etc/keep', type: 'file', content: Buffer.from('keep') },
    { path: 'etc/gone', type: 'file', content: Buffer.from('gone') },
    { path: 'var/cache/a', type: 'file', content: Buffer.from('a') },
    { path: 'var/cache/sub/b', type: 'file', content: Buffer.from('b') },
  ]));
  await applyLayer(root, writeTar([
    { path: 'etc/.wh.gone', type: 'file' },
    { path: 'var/cache/.wh..wh..opq', type: 'file' },
    { path: 'var/cache/new', type: 'file', content: Buffer.from('new') },
    { path: 'etc/.wh.never-existed', type: 'file' },
  ]));
  assert.deepEqual(listing(root), ['etc d 755', 'etc/keep f 644 keep', 'var d 755', 'var/cache d 755', 'var/cache/new f 644 new']);
});

test('a whiteout does not remove what the same layer created', async (t) => {
  const root = tempDir(t);
  await applyLayer(root, writeTar([
    { path: 'a', type: 'file', content: Buffer.from('mine') },
    { path: '.wh.a', type: 'file' },
  ], { keepOrder: true }));
  assert.equal(readFileSync(join(root, 'a'), 'utf8'), 'mine');
});

test('read-only directory modes are applied after their contents', async (t) => {
  const root = tempDir(t);
  await applyLayer(root, writeTar([
    { path: 'ro', type: 'directory', mode: 0o555 },
    { path: 'ro/inner', type: 'file', content: Buffer.from('x'), mode: 0o400 },
  ]));
  assert.equal(lstatSync(join(root, 'ro')).mode & 0o777, 0o555);
  assert.equal(readFileSync(join(root, 'ro/inner'), 'utf8'), 'x');
});

test('GNU tar archives (gnu and pax formats) apply to the same tree', async (t) => {
  const gnuTar = peer(t, 'tar');
  if (!gnuTar) return;
  const dir = tempDir(t);
  const src = join(dir, 'src');
  mkdirSync(join(src, 'a/b'), { recursive: true });
  writeFileSync(join(src, 'a/b/file'), 'content');
  writeFileSync(join(src, `a/${'n'.repeat(180)}`), 'long');
  symlinkSync('b/file', join(src, 'a/link'));
  linkSync(join(src, 'a/b/file'), join(src, 'a/hard'));
  chmodSync(join(src, 'a/b'), 0o700);
  for (const format of ['gnu', 'pax', 'ustar']) {
    if (format === 'ustar') rmSync(join(src, `a/${'n'.repeat(180)}`));
    const tarPath = join(dir, `${format}.tar`);
    execFileSync(gnuTar, [`--format=${format}`, '-cf', tarPath, '-C', src, '.']);
    const root = join(dir, `root-${format}`);
    mkdirSync(root);
    await applyLayer(root, Readable.from([readFileSync(tarPath)]));
    assert.deepEqual(listing(root), listing(src), format);
    assert.equal(lstatSync(join(root, 'a/hard')).ino, lstatSync(join(root, 'a/b/file')).ino);
  }
});

test('diffDirectories: lower + diff layer = upper (changes, deletions, opaque directories, type changes)', async (t) => {
  const dir = tempDir(t);
  const lower = join(dir, 'lower');
  const upper = join(dir, 'upper');
  for (const base of [lower, upper]) {
    mkdirSync(join(base, 'etc'), { recursive: true });
    mkdirSync(join(base, 'cache/old'), { recursive: true });
    writeFileSync(join(base, 'etc/same'), 'same');
    writeFileSync(join(base, 'etc/changed'), 'before');
    writeFileSync(join(base, 'etc/deleted'), 'x');
    writeFileSync(join(base, 'cache/old/f'), 'old');
    writeFileSync(join(base, 'cache/x'), 'x');
    writeFileSync(join(base, 'becomes-dir'), 'file');
    utimesSync(join(base, 'etc/same'), 1000, 1000);
  }
  writeFileSync(join(upper, 'etc/changed'), 'after, longer');
  rmSync(join(upper, 'etc/deleted'));
  rmSync(join(upper, 'cache'), { recursive: true });
  mkdirSync(join(upper, 'cache'));
  writeFileSync(join(upper, 'cache/fresh'), 'fresh');
  rmSync(join(upper, 'becomes-dir'));
  mkdirSync(join(upper, 'becomes-dir'));
  writeFileSync(join(upper, 'becomes-dir/inside'), 'in');
  symlinkSync('etc/same', join(upper, 'new-link'));

  const layer = await buffer(diffDirectories(lower, upper));
  const names = execFileSync('tar', ['-tf', '-'], { input: layer, encoding: 'utf8' }).trim().split('\n');
  assert.ok(names.includes('etc/.wh.deleted'));
  assert.ok(names.includes('cache/.wh..wh..opq'));
  assert.ok(!names.includes('etc/same'), 'unchanged files are not in the layer');

  const root = join(dir, 'root');
  mkdirSync(root);
  await applyLayer(root, createLayerFromDirectory(lower));
  await applyLayer(root, Readable.from([layer]));
  assert.deepEqual(listing(root), listing(upper));
});

test('extended attributes from PAX records are applied with setfattr (user.* always, security.capability as root)', async (t) => {
  const setfattr = peer(t, 'setfattr');
  const getfattr = peer(t, 'getfattr');
  if (!setfattr || !getfattr) return;
  const root = tempDir(t);
  // VFS_CAP_REVISION_2 with CAP_NET_BIND_SERVICE (bit 10) permitted + effective flag.
  const capability = Buffer.from('01000002000400000000000000000000000000000000', 'hex').subarray(0, 20);
  const tar = tarOf([
    pax({ 'SCHILY.xattr.user.berth': 'hello', 'SCHILY.xattr.security.capability': capability, 'SCHILY.xattr.security.selinux': 'system_u:object_r:bin_t:s0' }),
    file('bin/ping', 'binary', { mode: 0o755, uid: 0, gid: 0 }),
  ]);
  const warnings: string[] = [];
  await applyLayer(root, Readable.from([tar]), { onWarning: (w) => warnings.push(w) });
  const dump = execFileSync(getfattr, ['-d', '-m', '-', '-e', 'hex', join(root, 'bin/ping')], { encoding: 'utf8' });
  assert.match(dump, /user\.berth=0x68656c6c6f/);
  if (process.getuid?.() === 0) assert.match(dump, new RegExp(`security\\.capability=0x${capability.toString('hex')}`));
  assert.doesNotMatch(dump, /security\.selinux=0x73797374/);
  assert.ok(warnings.some((w) => /security\.selinux/.test(w)));
  assert.equal(lstatSync(join(root, 'bin/ping')).mode & 0o7777, 0o755);
});

test('owners and modes are exact even where the kernel would pick others (set-gid directories, umask)', async (t) => {
  const root = tempDir(t);
  await applyLayer(root, writeTar([
    { path: 'shared', type: 'directory', mode: 0o2775, uid: 0, gid: 50 },
    { path: 'open', type: 'file', mode: 0o666, content: Buffer.from('x') },
    { path: 'setuid', type: 'file', mode: 0o4755, content: Buffer.from('x') },
  ]));
  await applyLayer(root, writeTar([{ path: 'shared/f', type: 'file', mode: 0o644, uid: 0, gid: 0, content: Buffer.from('f') }]));
  assert.equal(lstatSync(join(root, 'open')).mode & 0o7777, 0o666);
  assert.equal(lstatSync(join(root, 'setuid')).mode & 0o7777, 0o4755);
  assert.equal(lstatSync(join(root, 'shared')).mode & 0o7777, 0o2775);
  if (process.getuid?.() === 0) {
    assert.equal(lstatSync(join(root, 'shared')).gid, 50);
    assert.equal(lstatSync(join(root, 'shared/f')).gid, 0, 'the set-gid parent must not decide the group');
  }
});

test('diffDirectories catches a same-size rewrite that kept the mtime', async (t) => {
  const dir = tempDir(t);
  const lower = join(dir, 'lower');
  const upper = join(dir, 'upper');
  mkdirSync(lower);
  mkdirSync(upper);
  writeFileSync(join(lower, 'f'), 'before');
  writeFileSync(join(upper, 'f'), 'after!');
  utimesSync(join(lower, 'f'), 1000, 1000);
  utimesSync(join(upper, 'f'), 1000, 1000);
  utimesSync(lower, 1000, 1000);
  utimesSync(upper, 1000, 1000);
  const names = (tar: Buffer): string[] => execFileSync('tar', ['-tf', '-'], { input: tar, encoding: 'utf8' }).trim().split('\n').filter(Boolean);
  assert.deepEqual(names(await buffer(diffDirectories(lower, upper))), ['f'], 'metadata alone cannot see it: the bytes must be compared');
});
