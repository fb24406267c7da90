import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, lstatSync, mkdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { isBerthError } from '../../src/errors/BerthError.js';
import { applyLayer } from '../../src/layer/applyLayer.js';
import { compressLayer } from '../../src/layer/compression.js';
import { TarReader } from '../../src/layer/tarReader.js';
import { writeTar, type LayerEntry } from '../../src/layer/tarWriter.js';
import { peer, tempDir } from '../support/peers.js';

const longName = `deep/${'d'.repeat(120)}/${'f'.repeat(130)}.txt`;
const entries: LayerEntry[] = [
  { path: 'z-last', type: 'file', content: Buffer.from('last\n'), mode: 0o600, uid: 1000, gid: 1000, mtime: new Date(1_600_000_000_000) },
  { path: 'bin', type: 'directory', mode: 0o755 },
  { path: 'bin/tool', type: 'file', content: Buffer.from('#!/bin/sh\necho tool\n'), mode: 0o755 },
  { path: 'bin/alias', type: 'symlink', linkname: 'tool' },
  { path: 'bin/tool-again', type: 'hardlink', linkname: 'bin/tool' },
  { path: 'deep', type: 'directory' },
  { path: longName, type: 'file', content: Buffer.from('long name\n') },
  { path: 'ünïcödé/名前.txt', type: 'file', content: Buffer.from('utf-8 name\n') },
  { path: 'big-ids', type: 'file', content: Buffer.from('ids\n'), uid: 5_000_000, gid: 4_000_000 },
  { path: 'link-far', type: 'symlink', linkname: `/${'t'.repeat(150)}` },
];

test('the tar writer is deterministic and sorts entries (parents first)', async () => {
  const a = await buffer(writeTar(entries));
  const b = await buffer(writeTar([...entries].reverse()));
  assert.ok(a.equals(b), 'same entries in any order give the same bytes');
  const names: string[] = [];
  const reader = new TarReader({ entry: (h) => names.push(h.name), data: () => undefined, entryEnd: () => undefined });
  reader.push(a);
  reader.finish();
  assert.deepEqual(names.slice(0, 5), ['big-ids', 'bin/', 'bin/alias', 'bin/tool', 'bin/tool-again']);
  // Byte order: UTF-8 names (0xc3...) sort after ASCII ones.
  assert.deepEqual(names.slice(-2), ['z-last', Buffer.from('ünïcödé/名前.txt').toString('latin1')]);
});

test('GNU tar reads what the writer wrote: PAX long and non-ASCII names, big ids, links', async (t) => {
  const gnuTar = peer(t, 'tar');
  if (!gnuTar) return;
  const dir = tempDir(t);
  const tarPath = join(dir, 'layer.tar');
  writeFileSync(tarPath, await buffer(writeTar(entries, { mtime: new Date(0) })));
  const listing = execFileSync(gnuTar, ['--numeric-owner', '-tvf', tarPath], { encoding: 'utf8' });
  assert.match(listing, new RegExp(longName));
  assert.match(listing, /ünïcödé\/名前\.txt/);
  assert.match(listing, /5000000\/4000000 .* big-ids/);
  assert.match(listing, /bin\/tool-again link to bin\/tool/);
  assert.match(listing, /link-far -> \/t{150}/);
  const out = join(dir, 'x');
  mkdirSync(out);
  execFileSync(gnuTar, ['-xf', tarPath, '-C', out]);
  assert.equal(readFileSync(join(out, longName), 'utf8'), 'long name\n');
  assert.equal(lstatSync(join(out, 'bin/tool')).ino, lstatSync(join(out, 'bin/tool-again')).ino);
});

test('compressLayer returns the blob digest and the diff_id in one pass', async (t) => {
  const dir = tempDir(t);
  const out = join(dir, 'layer.tar.gz');
  const result = await compressLayer(writeTar(entries), createWriteStream(out));
  const blob = readFileSync(out);
  assert.equal(result.digest, `sha256:${createHash('sha256').update(blob).digest('hex')}`);
  assert.equal(result.size, blob.length);
  const tar = gunzipSync(blob);
  assert.equal(result.diffId, `sha256:${createHash('sha256').update(tar).digest('hex')}`);
  assert.equal(result.uncompressedSize, tar.length);
  const again = await compressLayer(writeTar(entries), createWriteStream(join(dir, 'again.tar.gz')));
  assert.equal(again.digest, result.digest, 'gzip output is reproducible');
});

test('round trip: writer → applier restores names, modes, owners, links and mtimes', async (t) => {
  const root = tempDir(t);
  await applyLayer(root, writeTar(entries), { chown: process.getuid?.() === 0 });
  assert.equal(readFileSync(join(root, longName), 'utf8'), 'long name\n');
  assert.equal(readFileSync(join(root, 'ünïcödé/名前.txt'), 'utf8'), 'utf-8 name\n');
  assert.equal(readlinkSync(join(root, 'bin/alias')), 'tool');
  assert.equal(lstatSync(join(root, 'bin/tool')).ino, lstatSync(join(root, 'bin/tool-again')).ino);
  const last = lstatSync(join(root, 'z-last'));
  assert.equal(last.mode & 0o7777, 0o600);
  assert.equal(last.mtimeMs, 1_600_000_000_000);
  if (process.getuid?.() === 0) {
    assert.equal(last.uid, 1000);
    assert.equal(lstatSync(join(root, 'big-ids')).uid, 5_000_000);
  }
});

test('zstd layers are read through the zstd program, or refused with UNSUPPORTED without it', async (t) => {
  const zstd = peer(t, 'zstd');
  if (!zstd) return;
  const dir = tempDir(t);
  const tarPath = join(dir, 'layer.tar');
  writeFileSync(tarPath, await buffer(writeTar(entries)));
  execFileSync(zstd, ['-q', tarPath, '-o', `${tarPath}.zst`]);
  const root = join(dir, 'root');
  mkdirSync(root);
  await applyLayer(root, createReadStream(`${tarPath}.zst`));
  assert.equal(readFileSync(join(root, 'bin/tool'), 'utf8'), '#!/bin/sh\necho tool\n');
  const path = process.env.PATH;
  process.env.PATH = '/nonexistent';
  try {
    const root2 = join(dir, 'root2');
    mkdirSync(root2);
    await assert.rejects(applyLayer(root2, createReadStream(`${tarPath}.zst`)), (err: Error & { code?: string }) => err.code === 'UNSUPPORTED' && /zstd/.test(err.message));
  } finally {
    process.env.PATH = path;
  }
});

test('a truncated gzip layer is a clear LAYER_INVALID error', async (t) => {
  const dir = tempDir(t);
  const out = join(dir, 'l.tgz');
  await compressLayer(writeTar(entries), createWriteStream(out));
  const blob = readFileSync(out);
  await assert.rejects(applyLayer(dir, Readable.from([blob.subarray(0, blob.length - 30)])), (err: Error & { code?: string }) => err.code === 'LAYER_INVALID');
});

test('a file that is no longer what the walk saw fails the layer: another size, or a symlink in its place', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'small'), 'grew since the walk');
  writeFileSync(join(dir, 'large'), Buffer.alloc(200 * 1024, 1));
  symlinkSync('/etc/passwd', join(dir, 'swapped'));
  const changed = (err: unknown): boolean => isBerthError(err, 'IO_ERROR') && /did it change while being read/.test((err as Error).message);
  await assert.rejects(buffer(writeTar([{ path: 'small', type: 'file', content: { file: join(dir, 'small'), size: 4 } }])), changed);
  await assert.rejects(buffer(writeTar([{ path: 'large', type: 'file', content: { file: join(dir, 'large'), size: 300 * 1024 } }])), changed);
  await assert.rejects(buffer(writeTar([{ path: 'swapped', type: 'file', content: { file: join(dir, 'swapped'), size: 10 } }])), changed);
});

test('GNU tar extracts what the writer wrote byte for byte: a name that is not UTF-8, a binary xattr value, a 200 KiB file', async (t) => {
  const gnuTar = peer(t, 'tar');
  const getfattr = peer(t, 'getfattr');
  if (!gnuTar || !getfattr) return;
  const dir = tempDir(t);
  const big = Buffer.alloc(200 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7) % 251;
  writeFileSync(join(dir, 'big.src'), big);
  const rawName = Buffer.from([0x72, 0x61, 0x77, 0xff, 0xfe]);
  const tar = await buffer(
    writeTar([
      { path: rawName, type: 'file', content: Buffer.from('raw'), xattrs: { 'user.bin': Buffer.from([0x00, 0xff, 0x80, 0x0a]) } },
      { path: 'big', type: 'file', content: { file: join(dir, 'big.src'), size: big.length } },
    ]),
  );
  const out = join(dir, 'out');
  mkdirSync(out);
  execFileSync(gnuTar, ['--xattrs', '--xattrs-include=user.*', '-xf', '-', '-C', out], { input: tar });
  assert.ok(readFileSync(join(out, 'big')).equals(big));
  const rawPath = Buffer.concat([Buffer.from(`${out}/`), rawName]);
  assert.equal(readFileSync(rawPath, 'utf8'), 'raw');
  const dump = execFileSync(getfattr, ['-R', '-d', '-m', 'user.', '-e', 'hex', '.'], { cwd: out, encoding: 'latin1' });
  assert.match(dump, /user\.bin=0x00ff800a/);
});
