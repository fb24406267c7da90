import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { isBerthError } from '../../src/errors/BerthError.js';
import type { Digest } from '../../src/oci/digest.js';
import { copyImage } from '../../src/copy/copyImage.js';
import '../../src/transports/allTransports.js';
import { parseImageReference } from '../../src/transports/transportRegistry.js';
import { peer, tempDir } from '../support/peers.js';
import { buildLayout, buildMultiArchLayout } from '../support/ociImage.js';
import { berthAsync } from '../support/runCli.js';
import { validateLayout } from './support/ociImageTool.js';

const REF_NAME = 'org.opencontainers.image.ref.name';

function indexOf(dir: string): { manifests: { digest: string; mediaType: string; annotations?: Record<string, string> }[] } {
  return JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
}

test('oci: source reads the image a tag names, and the only image when no tag is given', async (t) => {
  const dir = tempDir(t);
  const image = await buildLayout(join(dir, 'one'), 'v1', { layers: [[{ name: 'a', content: 'a' }]] });
  const src = await parseImageReference(`oci:${join(dir, 'one')}:v1`).newSource();
  const top = await src.getManifest();
  assert.equal(JSON.parse(top.bytes.toString()).config.digest, image.config.digest);
  assert.equal(top.mediaType, 'application/vnd.oci.image.manifest.v1+json');
  await src.close();
  const untagged = await parseImageReference(`oci:${join(dir, 'one')}`).newSource();
  assert.equal(JSON.parse((await untagged.getManifest()).bytes.toString()).config.digest, image.config.digest);
  await assert.rejects(parseImageReference(`oci:${join(dir, 'one')}:nope`).newSource(), (e) => isBerthError(e, 'TAG_UNKNOWN'));
  await assert.rejects(parseImageReference(`oci:${join(dir, 'absent')}:v1`).newSource(), (e) => isBerthError(e, 'NOT_FOUND'));
});

test('oci: without a tag, a layout holding several images is an error that lists the tags', async (t) => {
  const dir = tempDir(t);
  await buildLayout(join(dir, 'src'), 'a', { layers: [[{ name: 'a', content: 'a' }]] });
  await copyImage(parseImageReference(`oci:${join(dir, 'src')}:a`), parseImageReference(`oci:${join(dir, 'dst')}:x`));
  await buildLayout(join(dir, 'src2'), 'b', { layers: [[{ name: 'b', content: 'b' }]] });
  await copyImage(parseImageReference(`oci:${join(dir, 'src2')}:b`), parseImageReference(`oci:${join(dir, 'dst')}:y`));
  await assert.rejects(parseImageReference(`oci:${join(dir, 'dst')}`).newSource(), (e: Error) => isBerthError(e, 'USAGE') && /x, y/.test(e.message));
});

test('oci: several tags live side by side, and writing an existing tag replaces that image only', async (t) => {
  const dir = tempDir(t);
  const a = await buildLayout(join(dir, 'a'), 'a', { layers: [[{ name: 'a', content: 'a' }]] });
  const b = await buildLayout(join(dir, 'b'), 'b', { layers: [[{ name: 'b', content: 'b' }]] });
  const dst = join(dir, 'dst');
  await copyImage(parseImageReference(`oci:${join(dir, 'a')}:a`), parseImageReference(`oci:${dst}:one`));
  await copyImage(parseImageReference(`oci:${join(dir, 'a')}:a`), parseImageReference(`oci:${dst}:two`));
  await copyImage(parseImageReference(`oci:${join(dir, 'b')}:b`), parseImageReference(`oci:${dst}:one`));
  const entries = indexOf(dst).manifests;
  assert.deepEqual(
    entries.map((m) => [m.annotations?.[REF_NAME], m.digest]).sort(),
    [['one', b.manifest.digest], ['two', a.manifest.digest]],
  );
});

test('oci: a multi-platform index is stored with its instances and read back by digest', async (t) => {
  const dir = tempDir(t);
  const { index, instances } = await buildMultiArchLayout(join(dir, 'src'), 'multi');
  const result = await copyImage(parseImageReference(`oci:${join(dir, 'src')}:multi`), parseImageReference(`oci:${join(dir, 'dst')}:m`), { all: true });
  assert.equal(result.manifestDigest, index.digest);
  const src = await parseImageReference(`oci:${join(dir, 'dst')}:m`).newSource();
  const arm = await src.getManifest(instances[1]?.manifest.digest as Digest);
  assert.equal(JSON.parse(arm.bytes.toString()).config.digest, instances[1]?.config.digest);
  await src.close();
  const tool = peer(t, 'oci-image-tool');
  if (!tool) return;
  const check = validateLayout(tool, join(dir, 'dst'), 'm');
  assert.equal(check.status, 0, check.stderr + check.stdout);
});

test('oci: a blob whose bytes do not match its digest never appears in the layout', async (t) => {
  const dir = tempDir(t);
  const dst = await parseImageReference(`oci:${join(dir, 'dst')}:x`).newDestination();
  const content = Buffer.from('real content');
  const wrong = { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: `sha256:${'0'.repeat(64)}` as Digest, size: content.length };
  await assert.rejects(dst.putBlob(wrong, Readable.from([content])), (e) => isBerthError(e, 'DIGEST_MISMATCH'));
  const tooShort = { ...wrong, size: content.length + 5 };
  await assert.rejects(dst.putBlob(tooShort, Readable.from([content])), (e) => isBerthError(e, 'SIZE_MISMATCH'));
  await dst.close();
  assert.deepEqual(readdirSync(join(dir, 'dst', 'blobs', 'sha256')), []);
  assert.equal(await dst.tryReuseBlob(wrong), false);
});

test('oci: refuses a corrupt index.json and a directory that is not a layout', async (t) => {
  const dir = tempDir(t);
  await buildLayout(join(dir, 'l'), 'v1', { layers: [[{ name: 'a', content: 'a' }]] });
  writeFileSync(join(dir, 'l', 'index.json'), '{"schemaVersion":2,"manifests":[{"digest":"sha256:xyz"}]}');
  await assert.rejects(parseImageReference(`oci:${join(dir, 'l')}:v1`).newSource(), (e) => isBerthError(e, 'LAYOUT_INVALID'));
  writeFileSync(join(dir, 'l', 'oci-layout'), '{"imageLayoutVersion":"9.0.0"}');
  await assert.rejects(parseImageReference(`oci:${join(dir, 'l')}:v1`).newSource(), (e) => isBerthError(e, 'LAYOUT_INVALID'));
  const other = join(dir, 'other');
  await buildLayout(join(dir, 'src'), 'v1', { layers: [[{ name: 'a', content: 'a' }]] });
  writeFileSync(join(dir, 'notalayout'), 'x');
  await assert.rejects(parseImageReference(`oci:${join(dir, 'notalayout')}:v1`).newDestination(), (e) => isBerthError(e, 'LAYOUT_INVALID'));
  assert.equal(existsSync(other), false);
});

test('oci: a manifest blob that was tampered with is refused on read', async (t) => {
  const dir = tempDir(t);
  const image = await buildLayout(join(dir, 'l'), 'v1', { layers: [[{ name: 'a', content: 'a' }]] });
  writeFileSync(join(dir, 'l', 'blobs', 'sha256', image.manifest.digest.slice(7)), '{"schemaVersion":2}');
  const src = await parseImageReference(`oci:${join(dir, 'l')}:v1`).newSource();
  await assert.rejects(src.getManifest(), (e) => isBerthError(e, 'SIZE_MISMATCH') || isBerthError(e, 'DIGEST_MISMATCH'));
});

test('oci: a lock left by a killed writer is broken; a live one is waited for', async (t) => {
  const dir = tempDir(t);
  await buildLayout(join(dir, 'src'), 'v1', { layers: [[{ name: 'a', content: 'a' }]] });
  const dst = join(dir, 'dst');
  await copyImage(parseImageReference(`oci:${join(dir, 'src')}:v1`), parseImageReference(`oci:${dst}:first`));
  const { hostname } = await import('node:os');
  // PID 2^22+1 is above Linux's pid_max ceiling, so no process has it: a dead holder.
  writeFileSync(join(dst, 'index.json.lock'), `${2 ** 22 + 1}@${hostname()}`);
  await copyImage(parseImageReference(`oci:${join(dir, 'src')}:v1`), parseImageReference(`oci:${dst}:second`));
  assert.equal(existsSync(join(dst, 'index.json.lock')), false);
  writeFileSync(join(dst, 'index.json.lock'), `${process.pid}@${hostname()}`);
  let finished = false;
  const copying = copyImage(parseImageReference(`oci:${join(dir, 'src')}:v1`), parseImageReference(`oci:${dst}:third`)).then(() => {
    finished = true;
  });
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(finished, false, 'the copy must wait while a live process holds the lock');
  const { rmSync } = await import('node:fs');
  rmSync(join(dst, 'index.json.lock'));
  await copying;
  assert.deepEqual(indexOf(dst).manifests.map((m) => m.annotations?.[REF_NAME]).sort(), ['first', 'second', 'third']);
});

test('oci: concurrent writers (separate processes) into one layout lose no tag and leave it valid', async (t) => {
  const dir = tempDir(t);
  const sources: string[] = [];
  for (let i = 0; i < 4; i++) {
    await buildLayout(join(dir, `s${i}`), 'v', { layers: [[{ name: `f${i}`, content: `content ${i}` }], [{ name: 'shared', content: 'same in all' }]] });
    sources.push(join(dir, `s${i}`));
  }
  const dst = join(dir, 'dst');
  const runs = [];
  for (let i = 0; i < 8; i++) runs.push(berthAsync(['copy', '-q', `oci:${sources[i % 4]}:v`, `oci:${dst}:tag${i}`]));
  const results = await Promise.all(runs);
  for (const r of results) assert.equal(r.status, 0, r.stderr);
  const tags = indexOf(dst).manifests.map((m) => m.annotations?.[REF_NAME]).sort();
  assert.deepEqual(tags, ['tag0', 'tag1', 'tag2', 'tag3', 'tag4', 'tag5', 'tag6', 'tag7']);
  assert.deepEqual(readdirSync(dst).sort(), ['blobs', 'index.json', 'oci-layout']);
  const tool = peer(t, 'oci-image-tool');
  if (!tool) return;
  const check = validateLayout(tool, dst);
  assert.equal(check.status, 0, check.stderr);
});

test('oci: references without a path or with an invalid tag are refused', () => {
  assert.throws(() => parseImageReference('oci:'), (e) => isBerthError(e, 'INVALID_REFERENCE'));
  assert.throws(() => parseImageReference('oci:/x:bad tag'), (e) => isBerthError(e, 'INVALID_REFERENCE'));
  assert.equal(parseImageReference('oci:/x:v1.0').toString(), 'oci:/x:v1.0');
});

test('oci: a commit whose reused blob was deleted meanwhile (concurrent rmi) fails instead of naming a missing blob', async (t) => {
  const dir = tempDir(t);
  const image = await buildLayout(join(dir, 'l'), 'old', { layers: [[{ name: 'a', content: 'a' }]] });
  const dst = await parseImageReference(`oci:${join(dir, 'l')}:new`).newDestination();
  for (const blob of [image.config, ...image.layers]) assert.equal(await dst.tryReuseBlob(blob as never), true);
  const manifest = readFileSync(join(dir, 'l', 'blobs', 'sha256', image.manifest.digest.slice(7)), 'utf8');
  await parseImageReference(`oci:${join(dir, 'l')}:old`).deleteImage?.();
  await dst.putManifest({ bytes: Buffer.from(manifest), mediaType: image.manifest.mediaType });
  await assert.rejects(dst.commit(), (e) => isBerthError(e, 'BLOB_UNKNOWN'));
  await dst.close();
  assert.deepEqual(indexOf(join(dir, 'l')).manifests, []);
});
