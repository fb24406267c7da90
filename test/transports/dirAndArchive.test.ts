import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import * as tar from 'tar-stream';
import { copyImage } from '../../src/copy/copyImage.js';
import { isBerthError } from '../../src/errors/BerthError.js';
import type { Digest } from '../../src/oci/digest.js';
import '../../src/transports/allTransports.js';
import { parseImageReference } from '../../src/transports/transportRegistry.js';
import { tempDir } from '../support/peers.js';
import { buildLayout } from '../support/ociImage.js';
import { berth } from '../support/runCli.js';

async function copy(from: string, to: string) {
  return copyImage(parseImageReference(from), parseImageReference(to));
}

test('dir: writes skopeo\'s layout (version file, manifest.json, blobs by hex) and replaces an older dir: image whole', async (t) => {
  const dir = tempDir(t);
  const a = await buildLayout(join(dir, 'a'), 'v', { layers: [[{ name: 'a', content: 'a' }]] });
  const b = await buildLayout(join(dir, 'b'), 'v', { layers: [[{ name: 'b', content: 'b' }]] });
  const target = join(dir, 'image');
  await copy(`oci:${join(dir, 'a')}:v`, `dir:${target}`);
  assert.equal(readFileSync(join(target, 'version'), 'utf8'), 'Directory Transport Version: 1.1\n');
  assert.deepEqual(readdirSync(target).sort(), [a.config.digest.slice(7), a.layers[0]?.digest.slice(7), 'manifest.json', 'version'].sort());
  await copy(`oci:${join(dir, 'b')}:v`, `dir:${target}`);
  assert.deepEqual(readdirSync(target).sort(), [b.config.digest.slice(7), b.layers[0]?.digest.slice(7), 'manifest.json', 'version'].sort(), 'no file of the older image remains');
  assert.deepEqual(readdirSync(dir).filter((n) => n.includes('berth-tmp')), [], 'no staging directory is left behind');
});

test('dir: never overwrites a directory that is not a dir: image, and a failed copy leaves the old image', async (t) => {
  const dir = tempDir(t);
  await buildLayout(join(dir, 'a'), 'v', { layers: [[{ name: 'a', content: 'a' }]] });
  mkdirSync(join(dir, 'precious'));
  writeFileSync(join(dir, 'precious', 'notes.txt'), 'keep me');
  await assert.rejects(copy(`oci:${join(dir, 'a')}:v`, `dir:${join(dir, 'precious')}`), (e) => isBerthError(e, 'ALREADY_EXISTS'));
  assert.deepEqual(readdirSync(join(dir, 'precious')), ['notes.txt']);

  const target = join(dir, 'image');
  await copy(`oci:${join(dir, 'a')}:v`, `dir:${target}`);
  const before = readFileSync(join(target, 'manifest.json'));
  const dest = await parseImageReference(`dir:${target}`).newDestination();
  const body = Buffer.from('not what the digest says');
  await assert.rejects(dest.putBlob({ mediaType: 'application/octet-stream', digest: `sha256:${'1'.repeat(64)}` as Digest, size: body.length }, Readable.from([body])));
  await dest.close();
  assert.deepEqual(readFileSync(join(target, 'manifest.json')), before);
  assert.deepEqual(readdirSync(dir).filter((n) => n.includes('berth-tmp')), []);
});

test('dir: reading a directory without an image, or of an unknown version, is a clear error', async (t) => {
  const dir = tempDir(t);
  mkdirSync(join(dir, 'empty'));
  await assert.rejects(copy(`dir:${join(dir, 'empty')}`, `oci:${join(dir, 'o')}:v`), (e) => isBerthError(e, 'MANIFEST_UNKNOWN'));
  mkdirSync(join(dir, 'future'));
  writeFileSync(join(dir, 'future', 'version'), 'Directory Transport Version: 2.0\n');
  await assert.rejects(copy(`dir:${join(dir, 'future')}`, `oci:${join(dir, 'o')}:v`), (e) => isBerthError(e, 'UNSUPPORTED'));
});

test('oci-archive: a failed write keeps the previous archive; hostile member names are refused', async (t) => {
  const dir = tempDir(t);
  await buildLayout(join(dir, 'a'), 'v', { layers: [[{ name: 'a', content: 'a' }]] });
  const file = join(dir, 'a.tar');
  await copy(`oci:${join(dir, 'a')}:v`, `oci-archive:${file}:v`);
  const before = readFileSync(file);
  await assert.rejects(copy(`oci:${join(dir, 'a')}:missing`, `oci-archive:${file}:v`), (e) => isBerthError(e, 'TAG_UNKNOWN'));
  assert.deepEqual(readFileSync(file), before);
  await assert.rejects(copy(`oci-archive:${file}:other`, `oci:${join(dir, 'o')}:v`), (e) => isBerthError(e, 'TAG_UNKNOWN'));

  const hostile = join(dir, 'hostile.tar');
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => {
    chunks.push(c as Buffer);
  });
  const done = new Promise<void>((resolve) => pack.on('end', () => resolve()));
  pack.entry({ name: 'oci-layout' }, '{"imageLayoutVersion":"1.0.0"}');
  pack.entry({ name: 'index.json' }, '{"schemaVersion":2,"manifests":[]}');
  pack.entry({ name: '../../outside' }, 'escape');
  pack.finalize();
  await done;
  writeFileSync(hostile, Buffer.concat(chunks));
  await assert.rejects(copy(`oci-archive:${hostile}`, `oci:${join(dir, 'o')}:v`), (e) => isBerthError(e, 'ARCHIVE_INVALID'));
  assert.equal(existsSync(join(dir, '..', 'outside')), false);
  writeFileSync(join(dir, 'not-a-layout.tar'), '');
  await assert.rejects(copy(`oci-archive:${join(dir, 'not-a-layout.tar')}`, `oci:${join(dir, 'o')}:v`), (e) => isBerthError(e, 'ARCHIVE_INVALID'));
});

test('bad targets and sources give one line on stderr and a non-zero status, never a stack trace', async (t) => {
  const dir = tempDir(t);
  await buildLayout(join(dir, 'a'), 'v', { layers: [[{ name: 'a', content: 'a' }]] });
  const cases: [string, string, number][] = [
    [`oci:${join(dir, 'a')}:v`, `docker-archive:${join(dir, 'no-such-dir', 'x.tar')}`, 3],
    [`oci:${join(dir, 'a')}:v`, `oci-archive:${join(dir, 'no-such-dir', 'x.tar')}:v`, 3],
    [`oci:${join(dir, 'a')}:v`, `oci-archive:${dir}`, 1],
    [`oci-archive:${dir}`, `oci:${join(dir, 'out')}:v`, 6],
    [`docker-archive:${join(dir, 'a', 'oci-layout')}`, `oci:${join(dir, 'out')}:v`, 6],
    [`dir:${join(dir, 'a')}`, `oci:${join(dir, 'out')}:v`, 3],
  ];
  for (const [from, to, status] of cases) {
    const result = berth(['copy', '-q', from, to]);
    assert.equal(result.status, status, `${from} → ${to}: ${result.stderr}`);
    assert.match(result.stderr, /^berth: [^\n]+\n$/, `${from} → ${to}`);
  }
  assert.equal(existsSync(join(dir, 'out')), false, 'a failed source must not leave a destination behind');
});
