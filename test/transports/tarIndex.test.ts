import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, linkSync, writeFileSync, truncateSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { isBerthError } from '../../src/errors/BerthError.js';
import { openArchive } from '../../src/transports/files/openArchive.js';
import { TarIndex } from '../../src/transports/files/tarIndex.js';
import { tempDir } from '../support/peers.js';

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
