import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, linkSync, writeFileSync, truncateSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { isBerthError } from '../../src/errors/BerthError.js';
import { openArchive } from '../../src/transports/files/openArchive.js';
import { TarIndex } from '../../src/transports/files/tarIndex.js';
import { tempDir } from '../support/peers.js';
import { hostileCases } from '../../fixtures/hostile-tars/generate.js';
import { writeTar } from '../../src/layer/tarWriter.js';
import { buffer } from 'node:stream/consumers';

const LONG = `${'d'.repeat(60)}/${'e'.repeat(60)}/${'f'.repeat(60)}.txt`;

function tree(root: string): void {
  mkdirSync(join(root, 'src', LONG, '..'), { recursive: true });
  writeFileSync(join(root, 'src', LONG), 'long name\n');
  writeFileSync(join(root, 'src', 'plain'), 'plain\n');
  writeFileSync(join(root, 'src', 'empty'), '');
  symlinkSync('plain', join(root, 'src', 'sym'));
  linkSync(join(root, 'src', 'plain'), join(root, 'src', 'hard'));
}

async function contentOf(index: TarIndex, name: string): Promise<string> {
  const member = index.get(name);
  assert.ok(member, `${name} missing (have ${index.names().join(', ')})`);
  const chunks: Buffer[] = [];
  for await (const c of await index.open(member)) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString();
}

for (const format of ['gnu', 'pax', 'ustar'] as const) {
  test(`tar index reads ${format} archives in place: long names, symlinks and hardlinks between members, empty files`, async (t) => {
    const dir = tempDir(t);
    tree(dir);
    const file = join(dir, `a-${format}.tar`);
    execFileSync('tar', [`--format=${format}`, '-cf', file, '-C', join(dir, 'src'), '.']);
    const index = await TarIndex.build(file, file);
    assert.equal(await contentOf(index, LONG), 'long name\n');
    assert.equal(await contentOf(index, 'plain'), 'plain\n');
    assert.equal(await contentOf(index, 'sym'), 'plain\n');
    assert.equal(await contentOf(index, 'hard'), 'plain\n');
    assert.equal(await contentOf(index, 'empty'), '');
  });
}

test('tar index: gzip archives are decompressed first; garbage, truncation and corrupt headers are ARCHIVE_INVALID', async (t) => {
  const dir = tempDir(t);
  tree(dir);
  const file = join(dir, 'a.tar');
  execFileSync('tar', ['-cf', file, '-C', join(dir, 'src'), 'plain', 'empty']);
  execFileSync('sh', ['-c', `gzip -c ${file} > ${file}.gz`]);
  const opened = await openArchive(`${file}.gz`, 'gz');
  assert.equal(await contentOf(opened.index, 'plain'), 'plain\n');
  await opened.close();

  writeFileSync(join(dir, 'garbage'), 'x'.repeat(2000));
  await assert.rejects(TarIndex.build(join(dir, 'garbage'), 'garbage'), (e) => isBerthError(e, 'ARCHIVE_INVALID'));
  const truncated = join(dir, 'truncated.tar');
  writeFileSync(truncated, readFileSync(file));
  truncateSync(truncated, 600);
  await assert.rejects(TarIndex.build(truncated, 'truncated'), (e) => isBerthError(e, 'ARCHIVE_INVALID'));
  const corrupt = Buffer.from(readFileSync(file));
  corrupt[10] = (corrupt[10] as number) ^ 0xff;
  writeFileSync(join(dir, 'corrupt.tar'), corrupt);
  await assert.rejects(TarIndex.build(join(dir, 'corrupt.tar'), 'corrupt'), (e) => isBerthError(e, 'ARCHIVE_INVALID'));
  writeFileSync(join(dir, 'bad.gz'), Buffer.from([0x1f, 0x8b, 1, 2, 3]));
  await assert.rejects(openArchive(join(dir, 'bad.gz'), 'bad.gz'), (e) => isBerthError(e, 'ARCHIVE_INVALID'));
  assert.ok(statSync(file).size > 0);
});

test('tar index refuses what the layer reader refuses: escaping names, bad checksums, sparse members, metadata bombs, lying sizes', async (t) => {
  const dir = tempDir(t);
  const refused = ['dotdot-file', 'dotdot-nested', 'pax-path-escape', 'gnu-longname-escape', 'nul-in-pax-path', 'hardlink-dotdot', 'bad-checksum', 'sparse-gnu', 'sparse-pax', 'pax-header-bomb', 'huge-declared-size'];
  const cases = hostileCases(join(dir, 'outside')).filter((c) => refused.includes(c.name));
  assert.equal(cases.length, refused.length);
  for (const c of cases) {
    const file = join(dir, `${c.name}.tar`);
    writeFileSync(file, c.layers[0]!);
    await assert.rejects(TarIndex.build(file, c.name), (e) => isBerthError(e, 'ARCHIVE_INVALID') && e.message.startsWith(`${c.name}: `), c.description);
  }
});

test('tar index reads what the tar writer wrote: PAX names (long, non-ASCII, not UTF-8), multi-block members, links', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'written.tar');
  const body = Buffer.alloc(1500, 7);
  writeFileSync(
    file,
    await buffer(
      writeTar([
        { path: LONG, type: 'file', content: Buffer.from('long name\n') },
        { path: 'ünïcödé', type: 'file', content: body },
        { path: Buffer.from([0x62, 0xff]), type: 'file', content: Buffer.from('raw') },
        { path: 'dir/link', type: 'symlink', linkname: '../ünïcödé' },
        { path: 'hard', type: 'hardlink', linkname: LONG },
      ]),
    ),
  );
  const index = await TarIndex.build(file, 'written');
  assert.equal(await contentOf(index, LONG), 'long name\n');
  assert.equal(await contentOf(index, 'hard'), 'long name\n');
  assert.equal(await contentOf(index, 'dir/link'), body.toString());
  const member = index.get('ünïcödé')!;
  assert.ok((await index.read(member, 2000, 'ünïcödé')).equals(body));
  assert.equal(await contentOf(index, Buffer.from([0x62, 0xff]).toString('utf8')), 'raw');
});
